import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as zlib from 'zlib';
import sharp from 'sharp';
import { pngChunk, pngClaiming } from '../helpers/images';
import { rng } from '../helpers/vectors';

// The malformed-media corpus: made at test time from media the project makes itself (sharp images, ffmpeg test
// patterns, espeak-ng speech, a face cut from @vladmandic/face-api's MIT demo photos when installed), then broken in
// every way the hostile-media issue lists. Nothing binary is committed; the same seed gives the same corpus.

/** One corpus file and the class of damage it carries. */
export interface CorpusEntry {
  /** Path of the file (or special file) in the corpus folder. */
  file: string;
  /** Damage class: truncation, bitflip, wrong-magic, header-bomb, zero-bytes, colour-space, exif, polyglot, special, ... */
  cls: string;
  /** Base media kind before damage, for picking which command to run it through. */
  base: 'image' | 'audio' | 'video' | 'other';
}

function ffmpeg(args: string[]): void {
  execFileSync(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A real PNG of w x h black pixels: 1.2 GB of scanlines deflated to about a megabyte, streamed (never in memory). */
async function zlibBombPng(w: number, h: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const deflate = zlib.createDeflate({ level: 1 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise<void>((res) => deflate.on('end', () => res()));
  const rows = Buffer.alloc((1 + w * 3) * 64); // 64 scanlines of filter byte 0 + zeros
  for (let y = 0; y < h; y += 64) {
    const n = Math.min(64, h - y);
    if (!deflate.write(rows.subarray(0, (1 + w * 3) * n))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), pngChunk('IHDR', ihdr), pngChunk('IDAT', Buffer.concat(parts)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG whose SOF0 claims w x h: the bytes of a real JPEG with the size fields rewritten. */
function jpegClaiming(jpeg: Buffer, w: number, h: number): Buffer {
  const b = Buffer.from(jpeg);
  for (let i = 2; i < b.length - 9; i++) {
    if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
      b.writeUInt16BE(h, i + 5);
      b.writeUInt16BE(w, i + 7);
      return b;
    }
  }
  return b;
}

/** A GIF89a whose logical screen and first image claim w x h. */
function gifClaiming(w: number, h: number): Buffer {
  const b = Buffer.alloc(6 + 7 + 10 + 4 + 1);
  b.write('GIF89a', 0, 'latin1');
  b.writeUInt16LE(w, 6);
  b.writeUInt16LE(h, 8);
  b[10] = 0;
  let p = 13;
  b[p++] = 0x2c;
  b.writeUInt16LE(0, p);
  b.writeUInt16LE(0, p + 2);
  b.writeUInt16LE(w, p + 4);
  b.writeUInt16LE(h, p + 6);
  p += 9;
  b[p++] = 2; // LZW min code size
  b[p++] = 1;
  b[p++] = 0x44;
  b[p++] = 0;
  b[p] = 0x3b;
  return b;
}

/** A 24-bit BMP (sharp cannot write BMP), optionally with a header that lies about its size. */
function bmp(w: number, h: number, claim?: { w: number; h: number }): Buffer {
  const row = Math.ceil((w * 3) / 4) * 4;
  const data = Buffer.alloc(row * h, 0x80);
  const head = Buffer.alloc(54);
  head.write('BM', 0, 'latin1');
  head.writeUInt32LE(54 + data.length, 2);
  head.writeUInt32LE(54, 10);
  head.writeUInt32LE(40, 14);
  head.writeInt32LE(claim?.w ?? w, 18);
  head.writeInt32LE(claim?.h ?? h, 22);
  head.writeUInt16LE(1, 26);
  head.writeUInt16LE(24, 28);
  head.writeUInt32LE(data.length, 34);
  return Buffer.concat([head, data]);
}

/** A RIFF/WAVE file from raw sample bytes. */
export function wav(samples: Buffer, o: { format?: number; channels?: number; rate?: number; bits?: number; claimData?: number } = {}): Buffer {
  const format = o.format ?? 1;
  const channels = o.channels ?? 1;
  const rate = o.rate ?? 16000;
  const bits = o.bits ?? 16;
  const block = (channels * bits) / 8;
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'latin1');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(format, 8);
  fmt.writeUInt16LE(channels & 0xffff, 10);
  fmt.writeUInt32LE(rate >>> 0, 12);
  fmt.writeUInt32LE((rate * block) >>> 0, 16);
  fmt.writeUInt16LE(block & 0xffff, 20);
  fmt.writeUInt16LE(bits, 22);
  const data = Buffer.alloc(8);
  data.write('data', 0, 'latin1');
  data.writeUInt32LE((o.claimData ?? samples.length) >>> 0, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + fmt.length + data.length + samples.length, 4);
  riff.write('WAVE', 8, 'latin1');
  return Buffer.concat([riff, fmt, data, samples]);
}

function floatSamples(n: number, f: (i: number) => number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) b.writeFloatLE(f(i), i * 4);
  return b;
}

/** Rewrites every 32-bit `mvhd` duration in an MP4 to `value` (the lying-header case). */
export function mp4LyingDuration(mp4: Buffer, value: number): Buffer {
  const b = Buffer.from(mp4);
  for (let i = 0; i < b.length - 24; i++) {
    if (b.toString('latin1', i, i + 4) === 'mvhd' && b[i + 4] === 0) {
      b.writeUInt32BE(value >>> 0, i + 4 + 4 + 4 + 4 + 4); // version/flags, ctime, mtime, timescale, duration
    }
  }
  return b;
}

/** Rewrites a Matroska Segment Info Duration (EBML id 0x4489, 8-byte float) to `seconds` x 1000 ticks. */
export function mkvLyingDuration(mkv: Buffer, seconds: number): Buffer {
  const b = Buffer.from(mkv);
  for (let i = 0; i < b.length - 11; i++) {
    if (b[i] === 0x44 && b[i + 1] === 0x89) {
      if (b[i + 2] === 0x88) b.writeDoubleBE(seconds * 1000, i + 3);
      else if (b[i + 2] === 0x84) b.writeFloatBE(seconds * 1000, i + 3);
      return b;
    }
  }
  return b;
}

/** `n` bytes flipped at random positions after `skip` (the header stays recognisable when skip > 0). */
function flipBits(src: Buffer, n: number, r: () => number, skip = 0): Buffer {
  const b = Buffer.from(src);
  for (let k = 0; k < n; k++) {
    const i = skip + Math.floor(r() * Math.max(1, b.length - skip));
    b[i] = b[i]! ^ (1 << Math.floor(r() * 8));
  }
  return b;
}

/** A minimal EXIF APP1 segment with one Orientation tag (or a damaged IFD). */
function exifSegment(orientation: number, damaged = false): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('II*\0', 0, 'latin1');
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(damaged ? 0xffff : 1, 8); // 65535 entries claimed in a 26-byte block
  tiff.writeUInt16LE(0x0112, 10);
  tiff.writeUInt16LE(3, 12);
  tiff.writeUInt32LE(1, 14);
  tiff.writeUInt16LE(orientation, 18);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.alloc(4);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([seg, body]);
}

/** Inserts an APP1 EXIF segment right after SOI. */
function withExif(jpeg: Buffer, seg: Buffer): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

/** A photo with a face when @vladmandic/face-api's demo photos are installed, else a generated picture. */
async function basePhoto(): Promise<sharp.Sharp> {
  try {
    const f = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
    if (fs.existsSync(f)) return sharp(f).extract({ left: 1300, top: 50, width: 560, height: 560 }).resize(256, 256);
  } catch {
    // not installed: a generated picture still exercises every decoder path
  }
  return sharp({ create: { width: 256, height: 256, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
}

/** Options of {@link makeMalformedCorpus}. */
export interface CorpusOptions {
  /** Seed of the random damage (bit flips); default 15. */
  seed?: number;
  /** Also make the large files (8000x6000 JPEG, 7000x7000 PNG, 4096x4096 video, ten blank minutes); default true. */
  large?: boolean;
  /** espeak-ng speech for the audio base (default: when installed), else a tone. */
  speech?: boolean;
}

/**
 * Writes the corpus into `dir` (created) and returns its entries, more than 150, covering: truncation at every 10%,
 * bit flips, wrong magic, header bombs, zero bytes, odd colour spaces, EXIF, polyglots, special files (FIFO, socket,
 * device link, folder, dangling link, link loop), extreme aspect ratios, large real images, small-but-extreme
 * video, long blank media, lying durations, broken or empty streams and non-finite audio.
 */
export async function makeMalformedCorpus(dir: string, opts: CorpusOptions = {}): Promise<CorpusEntry[]> {
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(opts.seed ?? 15);
  const large = opts.large ?? true;
  const out: CorpusEntry[] = [];
  const f = (name: string): string => path.join(dir, name);
  const put = (name: string, data: Buffer | string, cls: string, base: CorpusEntry['base']): void => {
    fs.writeFileSync(f(name), data);
    out.push({ file: f(name), cls, base });
  };
  const src = path.join(dir, '.src');
  fs.mkdirSync(src, { recursive: true });
  const s = (name: string): string => path.join(src, name);

  // Base media, valid, that the damage starts from (kept in a dot-folder: not corpus entries themselves).
  const photo = await basePhoto();
  const jpg = await photo.clone().jpeg({ quality: 85 }).toBuffer();
  const png = await photo.clone().png().toBuffer();
  const webp = await photo.clone().webp().toBuffer();
  const gif = await photo.clone().gif().toBuffer();
  const tiff = await photo.clone().tiff().toBuffer();
  fs.writeFileSync(s('face.png'), png);
  let speechOk = opts.speech ?? true;
  if (speechOk) {
    try {
      execFileSync('espeak-ng', ['-w', s('speech.wav'), 'This is a recording made for the malformed input tests; it goes on for a few seconds.'], { stdio: 'ignore' });
    } catch {
      speechOk = false;
    }
  }
  if (!speechOk) ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=220:duration=4', s('speech.wav')]);
  ffmpeg(['-i', s('speech.wav'), '-ar', '16000', '-ac', '1', s('speech16.wav')]);
  ffmpeg(['-i', s('speech.wav'), '-c:a', 'libmp3lame', '-b:a', '48k', s('speech.mp3')]);
  ffmpeg(['-i', s('speech.wav'), '-c:a', 'flac', s('speech.flac')]);
  const video = (name: string, extra: string[]): void =>
    ffmpeg(['-loop', '1', '-framerate', '10', '-i', s('face.png'), '-i', s('speech.wav'), '-map', '0:v', '-map', '1:a', '-t', '2', '-vf', 'scale=160:160', ...extra, s(name)]);
  video('clip.mp4', ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '48k', '-movflags', '+faststart']);
  video('clip.mkv', ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '48k']);
  video('clip.webm', ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus', '-b:a', '32k']);
  const bases: [string, Buffer, CorpusEntry['base']][] = [
    ['jpg', jpg, 'image'],
    ['png', png, 'image'],
    ['wav', fs.readFileSync(s('speech16.wav')), 'audio'],
    ['mp3', fs.readFileSync(s('speech.mp3')), 'audio'],
    ['flac', fs.readFileSync(s('speech.flac')), 'audio'],
    ['mp4', fs.readFileSync(s('clip.mp4')), 'video'],
    ['mkv', fs.readFileSync(s('clip.mkv')), 'video'],
    ['webm', fs.readFileSync(s('clip.webm')), 'video'],
  ];
  for (const [ext, b, base] of bases) put(`valid.${ext}`, b, 'valid', base);

  // Truncation at every 10%.
  for (const [ext, b, base] of bases) for (let k = 1; k <= 9; k++) put(`trunc-${k * 10}.${ext}`, b.subarray(0, Math.floor((b.length * k) / 10)), 'truncation', base);

  // Bit flips: a few in the body (headers intact) and a few anywhere.
  const flipBases: [string, Buffer, CorpusEntry['base']][] = [...bases, ['webp', webp, 'image'], ['gif', gif, 'image'], ['tiff', tiff, 'image']];
  for (const [ext, b, base] of flipBases) {
    put(`flip-body-8.${ext}`, flipBits(b, 8, r, Math.min(64, b.length >> 3)), 'bitflip', base);
    put(`flip-any-64.${ext}`, flipBits(b, 64, r), 'bitflip', base);
  }

  // Wrong magic: content and name disagree, or the magic is broken.
  put('jpeg-named.png', jpg, 'wrong-magic', 'image');
  put('png-named.wav', png, 'wrong-magic', 'image');
  put('mp4-named.jpg', fs.readFileSync(s('clip.mp4')), 'wrong-magic', 'video');
  put('mp3-named.mp4', fs.readFileSync(s('speech.mp3')), 'wrong-magic', 'audio');
  put('text.jpg', 'this is not an image\n'.repeat(40), 'wrong-magic', 'other');
  put('text.mp4', 'not a video either\n'.repeat(40), 'wrong-magic', 'other');
  put('text.wav', 'RIFF but not really\n'.repeat(40), 'wrong-magic', 'other');
  const zeroedMagic = Buffer.from(jpg);
  zeroedMagic.fill(0, 0, 4);
  put('zeroed-magic.jpg', zeroedMagic, 'wrong-magic', 'image');
  const riffNoWave = Buffer.from(fs.readFileSync(s('speech16.wav')));
  riffNoWave.write('XXXX', 8, 'latin1');
  put('riff-not-wave.wav', riffNoWave, 'wrong-magic', 'audio');

  // Header bombs: sizes, durations, channel counts that would cost gigabytes if believed.
  put('bomb-40000.png', pngClaiming(40000, 40000), 'header-bomb', 'image');
  put('bomb-max.png', pngClaiming(0x7fffffff, 0x7fffffff), 'header-bomb', 'image');
  put('bomb-65500.jpg', jpegClaiming(jpg, 65500, 65500), 'header-bomb', 'image');
  put('bomb.gif', gifClaiming(65535, 65535), 'header-bomb', 'image');
  put('bomb.bmp', bmp(4, 4, { w: 60000, h: 60000 }), 'header-bomb', 'image');
  put('bomb-10h.wav', wav(Buffer.alloc(32000), { claimData: 36000 * 32000 }), 'header-bomb', 'audio');
  put('bomb-10h-44k.wav', wav(Buffer.alloc(88200), { rate: 44100, claimData: 36000 * 88200 }), 'header-bomb', 'audio');
  put('bomb-channels.wav', wav(Buffer.alloc(64000), { channels: 60000, bits: 16 }), 'header-bomb', 'audio');
  put('bomb-rate.wav', wav(Buffer.alloc(64000), { rate: 4_000_000_000 }), 'header-bomb', 'audio');
  put('lying-duration.mp4', mp4LyingDuration(fs.readFileSync(s('clip.mp4')), 0xffffffff), 'header-bomb', 'video');
  put('lying-duration.mkv', mkvLyingDuration(fs.readFileSync(s('clip.mkv')), 4294967295), 'header-bomb', 'video');
  // A real decompression bomb: a flat 20000 x 20000 PNG is a few hundred kB (over the pixel limit from its header).
  put('zlib-bomb-20000.png', await zlibBombPng(20000, 20000), 'header-bomb', 'image');

  // Zero bytes.
  for (const ext of ['jpg', 'png', 'wav', 'mp3', 'mp4', 'webm']) put(`empty.${ext}`, Buffer.alloc(0), 'zero-bytes', 'other');
  put('zeros-4k.jpg', Buffer.alloc(4096), 'zero-bytes', 'other');
  put('zeros-4k.mp4', Buffer.alloc(4096), 'zero-bytes', 'other');

  // Odd colour spaces and pixel formats.
  put('cmyk.jpg', await photo.clone().toColourspace('cmyk').jpeg().toBuffer(), 'colour-space', 'image');
  put('grey.jpg', await photo.clone().greyscale().jpeg().toBuffer(), 'colour-space', 'image');
  put('rgb16.png', await photo.clone().toColourspace('rgb16').png().toBuffer(), 'colour-space', 'image');
  put('palette.png', await photo.clone().png({ palette: true, colours: 16 }).toBuffer(), 'colour-space', 'image');
  put('alpha.png', await photo.clone().ensureAlpha(0.3).png().toBuffer(), 'colour-space', 'image');
  put('grey-alpha.png', await photo.clone().greyscale().ensureAlpha(0.5).png().toBuffer(), 'colour-space', 'image');
  put('lab.tiff', await photo.clone().toColourspace('lab').tiff().toBuffer(), 'colour-space', 'image');
  put('progressive.jpg', await photo.clone().jpeg({ progressive: true }).toBuffer(), 'colour-space', 'image');
  put('icc-p3.jpg', await photo.clone().withIccProfile('p3').jpeg().toBuffer(), 'colour-space', 'image');
  put('bmp-24.bmp', bmp(64, 48), 'colour-space', 'image');

  // EXIF: every orientation, and damaged EXIF blocks.
  for (let o = 1; o <= 8; o++) put(`exif-orient-${o}.jpg`, withExif(jpg, exifSegment(o)), 'exif', 'image');
  put('exif-orient-99.jpg', withExif(jpg, exifSegment(99)), 'exif', 'image');
  put('exif-ifd-bomb.jpg', withExif(jpg, exifSegment(1, true)), 'exif', 'image');

  // Polyglots: one file that is two formats at once.
  const zip = zlib.deflateRawSync(Buffer.from('payload'.repeat(100)));
  put('jpeg-plus-zip.jpg', Buffer.concat([jpg, Buffer.from('PK\x03\x04', 'latin1'), zip]), 'polyglot', 'image');
  put('png-plus-mp4.png', Buffer.concat([png, fs.readFileSync(s('clip.mp4'))]), 'polyglot', 'image');
  put('gif-plus-js.gif', Buffer.concat([gif, Buffer.from('*/=1;alert(1)//', 'latin1')]), 'polyglot', 'image');
  put('html.jpg', '<html><script>alert(1)</script><img src=x onerror=alert(2)></html>', 'polyglot', 'other');
  put('wav-then-jpeg.wav', Buffer.concat([fs.readFileSync(s('speech16.wav')).subarray(0, 44), jpg]), 'polyglot', 'audio');
  put('jpeg-then-mp4.mp4', Buffer.concat([jpg, fs.readFileSync(s('clip.mp4'))]), 'polyglot', 'video');
  put('pdf.jpg', '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n', 'polyglot', 'other');

  // Extreme aspect ratios and tiny images.
  put('strip-10000x3.png', await sharp({ create: { width: 10000, height: 3, channels: 3, background: '#888' } }).png().toBuffer(), 'extreme-aspect', 'image');
  put('strip-3x10000.png', await sharp({ create: { width: 3, height: 10000, channels: 3, background: '#888' } }).png().toBuffer(), 'extreme-aspect', 'image');
  put('strip-2000x40.jpg', await sharp({ create: { width: 2000, height: 40, channels: 3, background: '#888' } }).jpeg().toBuffer(), 'extreme-aspect', 'image');
  put('one-pixel.png', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } }).png().toBuffer(), 'extreme-aspect', 'image');
  put('two-pixels.jpg', await sharp({ create: { width: 2, height: 2, channels: 3, background: '#888' } }).jpeg().toBuffer(), 'extreme-aspect', 'image');
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=4096x16:r=5:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('wide-4096x16.mp4')]);
  out.push({ file: f('wide-4096x16.mp4'), cls: 'extreme-aspect', base: 'video' });
  ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=16x4096:r=5:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('tall-16x4096.mp4')]);
  out.push({ file: f('tall-16x4096.mp4'), cls: 'extreme-aspect', base: 'video' });

  // Broken or empty streams, several streams, non-finite audio.
  // An audio track with no samples at all beside a video with a face.
  ffmpeg(['-i', s('clip.mp4'), '-f', 'lavfi', '-t', '1', '-i', 'anullsrc=r=16000:cl=mono', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-af', 'atrim=end_sample=0', f('empty-audio-track.mkv')]);
  out.push({ file: f('empty-audio-track.mkv'), cls: 'broken-stream', base: 'video' });
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=5:d=2', '-i', s('clip.mp4'), '-i', s('speech.wav'), '-map', '0:v', '-map', '1:v', '-map', '2:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', f('two-video-two-audio.mkv')]);
  out.push({ file: f('two-video-two-audio.mkv'), cls: 'multi-stream', base: 'video' });
  put('nan.wav', wav(floatSamples(16000, () => NaN), { format: 3, bits: 32 }), 'non-finite', 'audio');
  put('inf.wav', wav(floatSamples(16000, (i) => (i % 2 ? Infinity : -Infinity)), { format: 3, bits: 32 }), 'non-finite', 'audio');
  put('huge-3e38.wav', wav(floatSamples(32000, (i) => 3e38 * Math.sin(i / 7)), { format: 3, bits: 32 }), 'non-finite', 'audio');
  put('nan-44k.wav', wav(floatSamples(44100, () => NaN), { format: 3, bits: 32, rate: 44100 }), 'non-finite', 'audio');
  const square = Buffer.alloc(64000);
  for (let i = 0; i < 32000; i++) square.writeInt16LE(i % 40 < 20 ? 32767 : -32768, i * 2);
  put('clipped-square.wav', wav(square), 'non-finite', 'audio');
  const wavBody = fs.readFileSync(s('speech16.wav'));
  const list = Buffer.alloc(8);
  list.write('LIST', 0, 'latin1');
  list.writeUInt32LE(0x7ffffff0, 4);
  put('wav-huge-list.wav', Buffer.concat([wavBody.subarray(0, 36), list, wavBody.subarray(36)]), 'header-bomb', 'audio');
  put('wav-zero-channels.wav', wav(Buffer.alloc(3200), { channels: 0 }), 'header-bomb', 'audio');
  put('id3-only.mp3', Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x10', 'latin1'), Buffer.alloc(16)]), 'zero-bytes', 'audio');

  // Special files named like media: FIFOs, a socket, a device link, a folder, broken links.
  const special = (name: string, make: (p: string) => void | Promise<void>): Promise<void> =>
    Promise.resolve(make(f(name))).then(() => void out.push({ file: f(name), cls: 'special', base: 'other' }));
  await special('fifo.jpg', (p) => void execFileSync('mkfifo', [p]));
  await special('fifo.wav', (p) => void execFileSync('mkfifo', [p]));
  await special('fifo.mp4', (p) => void execFileSync('mkfifo', [p]));
  await special('socket.jpg', (p) => new Promise<void>((res) => { const srv = net.createServer(); srv.listen(p, () => { srv.close(); res(); }); }).then(() => {
    // a closed server removes its socket file on some systems: fall back to a FIFO there
    if (!fs.existsSync(p)) execFileSync('mkfifo', [p]);
  }));
  await special('device.wav', (p) => fs.symlinkSync('/dev/zero', p));
  await special('folder.jpg', (p) => fs.mkdirSync(p));
  await special('dangling.jpg', (p) => fs.symlinkSync(path.join(dir, 'does-not-exist.jpg'), p));
  await special('loop.mp4', (p) => {
    fs.symlinkSync(f('loop-b.mp4'), p);
    fs.symlinkSync(p, f('loop-b.mp4'));
  });
  await special('link-to-folder.png', (p) => fs.symlinkSync(src, p));
  fs.symlinkSync(f('valid.jpg'), f('link-to-valid.jpg'));
  out.push({ file: f('link-to-valid.jpg'), cls: 'link', base: 'image' });

  if (large) {
    // Flat pictures: what matters is the size the decoder must handle, and flat ones are quick to make.
    put('large-8000x6000.jpg', await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#6a7b8c' } }).jpeg({ quality: 70 }).toBuffer(), 'large-real', 'image');
    put('large-7000x7000.png', await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#345' } }).png().toBuffer(), 'large-real', 'image');
    // Small file, large frames: 4096 x 4096 flat video (exactly the default frame limit) and 4800 x 3600 (over it).
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=4096x4096:r=2:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('frames-4096.mp4')]);
    out.push({ file: f('frames-4096.mp4'), cls: 'extreme-video', base: 'video' });
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=4800x3600:r=1:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('frames-4800x3600.mp4')]);
    out.push({ file: f('frames-4800x3600.mp4'), cls: 'extreme-video', base: 'video' });
    // Ten blank minutes with a silent soundtrack.
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=160x120:r=10:d=600', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '600', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '16k', f('blank-10min.mp4')]);
    out.push({ file: f('blank-10min.mp4'), cls: 'long-blank', base: 'video' });
    put('silence-10min.wav', wav(Buffer.alloc(600 * 32000)), 'long-blank', 'audio');
  }
  return out;
}
