// Example media made by the project for the demo and the examples: a reference photo and a voice recording of a
// "sample performer", and a 12 s "ad" video (1280x720 H.264 + AAC) in which re-framed, smaller and degraded versions
// of that face appear among other people's faces, over a soundtrack where the performer's voice speaks among others.
//
// Provenance: every face comes from the MIT-licensed group photos shipped in @vladmandic/face-api (demo/sample1..6.jpg);
// no licensed source gives several photos of one person, so the ad reuses the enrolled photo, re-framed and degraded.
// Speech is synthesised with espeak-ng (the performer is one espeak voice, the others are other voices); pictures are
// prepared with sharp and composed with ffmpeg (argument arrays, no shell). Nothing comes from the network.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import sharp from 'sharp';
import { WaveFile } from 'wavefile';
import { LikenessError } from '../src/errors';
import { runFfmpeg } from '../src/media/ffmpeg';
import type { Box } from '../src/types';

const execFileP = promisify(execFile);

/** A time interval in seconds, start inclusive, end exclusive. */
export interface Interval {
  start: number;
  end: number;
}

/** What {@link buildDemoMedia} wrote, and where the performer really is in the ad. */
export interface DemoMedia {
  /** Build version of the media (see `reuse`). */
  version: number;
  /** Folder holding every file below. */
  dir: string;
  /** Enrollment photo of the performer (one face, JPEG). */
  referencePhoto: string;
  /** Enrollment voice recording of the performer (WAV, ~10 s of speech); null without espeak-ng (no speech at all). */
  referenceVoice: string | null;
  /** The ad: 12 s, 1280x720, H.264 + AAC in MP4. */
  adVideo: string;
  /** A still re-using the performer's photo (re-framed, smaller, recompressed JPEG). */
  matchingImage: string;
  /** A still of people who are not enrolled (JPEG). */
  otherImage: string;
  /** Ground truth of the ad. */
  truth: {
    /** Where the performer's face is on screen. */
    performerFace: Interval[];
    /** Where the performer's voice speaks. */
    performerVoice: Interval[];
    /** Where other (not enrolled) faces are on screen. */
    otherFaces: Interval[];
    /** Where other voices speak. */
    otherVoices: Interval[];
    duration: number;
  };
  /** Milliseconds spent building (or reading the earlier build). */
  ms: number;
}

/** A face in one of the face-api demo photos. */
export interface SourceFace {
  photo: string;
  /** Expected photo size: the boxes below were measured on these exact files (face-api 1.7.x). */
  size: [number, number];
  box: Box;
}

// Face boxes measured once with this project's `accurate` face pipeline. Hard-coded so that building the media needs
// no model (fast, deterministic); the photo size is checked so a changed photo fails loudly instead of cutting air.
// The "others" were chosen with cosine < 0.2 to the performer's face (no one who could be the same person).
/** The demo's performer: the largest face of sample1.jpg. */
export const PERFORMER: SourceFace = { photo: 'sample1.jpg', size: [1920, 1280], box: { x: 333, y: 316, w: 352, h: 352 } };
/** Other people in the sample photos (cosine < 0.2 to {@link PERFORMER}; each a different person). */
export const OTHERS = {
  a: { photo: 'sample2.jpg', size: [1920, 1367], box: { x: 1379, y: 105, w: 347, h: 348 } },
  b: { photo: 'sample6.jpg', size: [1920, 1537], box: { x: 584, y: 304, w: 384, h: 384 } },
  c: { photo: 'sample3.jpg', size: [1920, 1350], box: { x: 515, y: 295, w: 361, h: 361 } },
  d: { photo: 'sample5.jpg', size: [1920, 1398], box: { x: 724, y: 92, w: 272, h: 273 } },
  e: { photo: 'sample3.jpg', size: [1920, 1350], box: { x: 1359, y: 251, w: 409, h: 409 } },
  f: { photo: 'sample6.jpg', size: [1920, 1537], box: { x: 177, y: 456, w: 360, h: 361 } },
  g: { photo: 'sample5.jpg', size: [1920, 1398], box: { x: 1048, y: 171, w: 319, h: 319 } },
  h: { photo: 'sample4.jpg', size: [1920, 1448], box: { x: 176, y: 185, w: 302, h: 302 } },
} satisfies Record<string, SourceFace>;

/** espeak-ng voices: the performer's, and two others clearly unlike it. */
export const DEMO_VOICES = {
  performer: { voice: 'en+f3', pitch: 55, speed: 150 },
  other1: { voice: 'en-us+m3', pitch: 35, speed: 165 },
  other2: { voice: 'en+m7', pitch: 25, speed: 155 },
} as const;

const W = 1280;
const H = 720;
const FPS = 25;
const DURATION = 12;

/** Folder of the MIT-licensed sample photos shipped in @vladmandic/face-api. */
export function samplePhotosDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
}

/** How a face is cut out and degraded for the ad. */
interface Cut {
  /** Extra context around the face box, as a fraction of its width on each side. */
  margin: number;
  /** Width / height of the cut (re-framing). */
  aspect?: number;
  /** Face width in the output, pixels. */
  faceWidth: number;
  brightness?: number;
  saturation?: number;
  blur?: number;
  mirror?: boolean;
  /** JPEG quality of a recompression pass (lower = more artefacts). */
  jpeg?: number;
}

/** Cuts a face out of a sample photo with context, scales, degrades and writes it as PNG (ffmpeg overlays PNGs). */
async function cutFace(src: SourceFace, cut: Cut, dst: string): Promise<{ file: string; width: number; height: number }> {
  const file = path.join(samplePhotosDir(), src.photo);
  const meta = await sharp(file).metadata();
  if (meta.width !== src.size[0] || meta.height !== src.size[1]) {
    throw new LikenessError('E_INPUT', `${file} is ${meta.width}x${meta.height}, expected ${src.size.join('x')}: the face boxes in examples/media.ts no longer fit this @vladmandic/face-api version`);
  }
  const { box } = src;
  const aspect = cut.aspect ?? 1;
  const h = Math.round(box.h * (1 + 2 * cut.margin));
  const w = Math.round(h * aspect);
  const left = clamp(Math.round(box.x + box.w / 2 - w / 2), 0, src.size[0] - w);
  const top = clamp(Math.round(box.y + box.h / 2 - h / 2), 0, src.size[1] - h);
  const scale = cut.faceWidth / box.w;
  const width = Math.round(Math.min(w, src.size[0]) * scale);
  const height = Math.round(Math.min(h, src.size[1]) * scale);
  let img = sharp(file).extract({ left, top, width: Math.min(w, src.size[0]), height: Math.min(h, src.size[1]) }).resize(width, height);
  if (cut.mirror) img = img.flop();
  if (cut.brightness !== undefined || cut.saturation !== undefined) img = img.modulate({ brightness: cut.brightness ?? 1, saturation: cut.saturation ?? 1 });
  if (cut.blur) img = img.blur(cut.blur);
  let buf = await img.jpeg({ quality: cut.jpeg ?? 90 }).toBuffer();
  buf = await sharp(buf).png().toBuffer();
  fs.writeFileSync(dst, buf);
  return { file: dst, width, height };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/** A plain "ad" background (sharp renders the SVG; no font or network needed). */
async function background(dst: string): Promise<string> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f7b733"/><stop offset="1" stop-color="#fc4a1a"/></linearGradient></defs>
<rect width="${W}" height="${H}" fill="url(#g)"/><circle cx="1100" cy="620" r="260" fill="#ffffff" fill-opacity="0.18"/>
<rect x="0" y="640" width="${W}" height="80" fill="#3a1c71" fill-opacity="0.55"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(dst);
  return dst;
}

/** One line of speech: who says what, from when. */
interface Line {
  who: keyof typeof DEMO_VOICES;
  text: string;
  at: number;
}

/** Synthesises one line with espeak-ng into a WAV (22050 Hz mono int16, as espeak writes it). */
async function speak(who: keyof typeof DEMO_VOICES, text: string, dst: string): Promise<string> {
  const v = DEMO_VOICES[who];
  try {
    await execFileP('espeak-ng', ['-v', v.voice, '-p', String(v.pitch), '-s', String(v.speed), '-w', dst, text], { timeout: 20_000 });
  } catch (e) {
    throw new LikenessError('E_INPUT', `espeak-ng failed (${(e as Error).message.split('\n')[0]}); install it with: apt-get install espeak-ng`, undefined, { cause: e });
  }
  return dst;
}

/** Sample rate espeak-ng writes. */
const ESPEAK_RATE = 22050;

/** True when espeak-ng runs. */
export async function hasEspeakNg(): Promise<boolean> {
  try {
    await execFileP('espeak-ng', ['--version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Reads a mono 16-bit WAV as floats. */
function readWav(file: string): { rate: number; samples: Float32Array } {
  const wav = new WaveFile(fs.readFileSync(file));
  const fmt = wav.fmt as { sampleRate: number; numChannels: number };
  const ints = wav.getSamples(false, Int16Array) as unknown as Int16Array;
  const samples = new Float32Array(ints.length / fmt.numChannels);
  for (let i = 0; i < samples.length; i++) samples[i] = ints[i * fmt.numChannels]! / 32768;
  return { rate: fmt.sampleRate, samples };
}

/**
 * Mixes lines into one soundtrack (each at its time; lines must not overlap) and returns where speech really is:
 * espeak pads with silence, so the interval is trimmed to the samples above a small level.
 */
async function soundtrack(lines: Line[], dir: string, dst: string): Promise<{ who: Line['who']; interval: Interval }[]> {
  const out: { who: Line['who']; interval: Interval }[] = [];
  let mix: Float32Array | undefined;
  let rate = 0;
  for (const [i, line] of lines.entries()) {
    const wav = readWav(await speak(line.who, line.text, path.join(dir, `line${i}.wav`)));
    rate ||= wav.rate;
    if (wav.rate !== rate) throw new LikenessError('E_INPUT', `espeak-ng wrote ${wav.rate} Hz for line ${i}, ${rate} Hz before`);
    mix ??= new Float32Array(Math.round(DURATION * rate));
    const offset = Math.round(line.at * rate);
    if (offset + wav.samples.length > mix.length) throw new LikenessError('E_INPUT', `line ${i} ("${line.text}") runs past the end of the ad`);
    const { first, last } = voicedRange(wav.samples);
    const interval = { start: round2(line.at + first / rate), end: round2(line.at + last / rate) };
    const prev = out[out.length - 1];
    if (prev && prev.interval.end > interval.start) throw new LikenessError('E_INPUT', `line ${i} starts before line ${i - 1} ends`);
    mix.set(wav.samples, offset);
    out.push({ who: line.who, interval });
  }
  rate ||= ESPEAK_RATE;
  mix ??= new Float32Array(Math.round(DURATION * rate));
  const wav = new WaveFile();
  wav.fromScratch(1, rate, '16', Int16Array.from(mix, (x) => Math.round(clamp(x, -1, 1) * 32767)));
  fs.writeFileSync(dst, wav.toBuffer());
  return out;
}

/** First and last sample above -40 dBFS. */
function voicedRange(s: Float32Array): { first: number; last: number } {
  let first = 0;
  let last = s.length - 1;
  while (first < s.length && Math.abs(s[first]!) < 0.01) first++;
  while (last > first && Math.abs(s[last]!) < 0.01) last--;
  return { first, last };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** A picture on screen during [start, end) at (x, y). */
interface Shot {
  file: string;
  x: number;
  y: number;
  start: number;
  end: number;
}

/**
 * Composes background + shots + soundtrack into an H.264/AAC MP4 in one ffmpeg run. Each picture is read once and
 * held by overlay (its default `eof_action=repeat`): looping the inputs instead decodes every PNG for every frame, 3x
 * slower.
 */
async function composeAd(bg: string, shots: Shot[], audio: string, dst: string): Promise<void> {
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `color=c=black:s=${W}x${H}:r=${FPS}:d=${DURATION}`, '-i', bg];
  for (const s of shots) args.push('-i', s.file);
  args.push('-i', audio);
  const filters = ['[0:v][1:v]overlay=x=0:y=0[bg]'];
  let last = 'bg';
  shots.forEach((s, i) => {
    // Half-open interval; the small epsilon keeps a frame exactly on `start` in and one exactly on `end` out.
    filters.push(`[${last}][${i + 2}:v]overlay=x=${s.x}:y=${s.y}:enable='gte(t,${s.start - 1e-3})*lt(t,${s.end - 1e-3})'[v${i}]`);
    last = `v${i}`;
  });
  args.push('-filter_complex', filters.join(';'), '-map', `[${last}]`, '-map', `${shots.length + 2}:a`);
  args.push('-t', String(DURATION), '-r', String(FPS), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '26', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-ar', '44100', '-movflags', '+faststart', dst);
  await runFfmpeg(args, { label: dst, timeoutMs: 120_000 });
}

/**
 * Builds the demo media into `dir` (created when missing): reference photo and voice of the sample performer, the ad
 * video, and two stills. Takes a few seconds (sharp + espeak-ng + one ffmpeg run). With `reuse`, a complete earlier
 * build in `dir` (its `media.json`) is returned as is.
 *
 * Without espeak-ng the media have no speech (`referenceVoice` is null, the ad's soundtrack is silent).
 *
 * @throws LikenessError `E_FFMPEG` when ffmpeg is missing or fails; `E_INPUT` when the sample photos are not the
 * expected ones.
 */
export async function buildDemoMedia(dir: string, opts: { reuse?: boolean } = {}): Promise<DemoMedia> {
  const t0 = Date.now();
  const manifest = path.join(dir, 'media.json');
  if (opts.reuse) {
    const cached = readManifest(manifest);
    if (cached) return { ...cached, ms: Date.now() - t0 };
  }
  fs.mkdirSync(dir, { recursive: true });
  const work = path.join(dir, 'parts');
  fs.mkdirSync(work, { recursive: true });
  const p = (name: string): string => path.join(work, name);

  // Enrollment material: a clean, well-lit crop of the performer and a recording of their (espeak) voice.
  const referencePhoto = path.join(dir, 'reference.jpg');
  const ref = await cutFace(PERFORMER, { margin: 0.6, faceWidth: 260 }, p('reference.png'));
  await sharp(ref.file).jpeg({ quality: 92 }).toFile(referencePhoto);
  // Without espeak-ng the media are made without speech (the ad has a silent soundtrack) rather than not at all.
  const speech = await hasEspeakNg();
  const referenceVoice = speech ? path.join(dir, 'reference-voice.wav') : null;
  if (referenceVoice) await speak('performer', 'Hello, my name is Sample Performer. I am recording this statement so that my voice can be protected. Every word here is mine, and I agree to be monitored for misuse.', referenceVoice);

  // The ad: the performer appears twice (re-framed wide and dim; then small, mirrored, blurred), among other faces.
  const [bg, a, b, c, p1, d, e, f, p2] = await Promise.all([
    background(p('background.png')),
    cutFace(OTHERS.a, { margin: 0.5, faceWidth: 200 }, p('other-a.png')),
    cutFace(OTHERS.b, { margin: 0.4, faceWidth: 170 }, p('other-b.png')),
    cutFace(OTHERS.c, { margin: 0.4, faceWidth: 150, brightness: 0.9 }, p('other-c.png')),
    cutFace(PERFORMER, { margin: 0.55, aspect: 1.35, faceWidth: 190, brightness: 0.8, saturation: 0.7, jpeg: 30 }, p('performer-wide.png')),
    cutFace(OTHERS.d, { margin: 0.5, faceWidth: 180 }, p('other-d.png')),
    cutFace(OTHERS.e, { margin: 0.4, faceWidth: 170 }, p('other-e.png')),
    cutFace(OTHERS.f, { margin: 0.4, faceWidth: 160, saturation: 0.8 }, p('other-f.png')),
    cutFace(PERFORMER, { margin: 0.45, faceWidth: 160, blur: 0.6, mirror: true, jpeg: 35 }, p('performer-small.png')),
  ]);
  const shots: (Shot & { performer: boolean })[] = [
    { file: a.file, x: 140, y: 120, start: 0, end: 3, performer: false },
    { file: b.file, x: 760, y: 150, start: 0.5, end: 3, performer: false },
    { file: c.file, x: 90, y: 220, start: 3, end: 7, performer: false },
    { file: p1.file, x: 560, y: 110, start: 3, end: 7, performer: true },
    { file: d.file, x: 160, y: 150, start: 7, end: 9.5, performer: false },
    { file: e.file, x: 760, y: 160, start: 7, end: 9.5, performer: false },
    { file: f.file, x: 150, y: 140, start: 9.5, end: 12, performer: false },
    { file: p2.file, x: 840, y: 230, start: 9.5, end: 12, performer: true },
  ];
  for (const s of [a, b, c, p1, d, e, f, p2]) {
    const shot = shots.find((x) => x.file === s.file)!;
    if (shot.x + s.width > W || shot.y + s.height > H) throw new LikenessError('E_INPUT', `${path.basename(s.file)} (${s.width}x${s.height}) does not fit the frame at ${shot.x},${shot.y}`);
  }
  const lines: Line[] = [
    { who: 'other1', text: 'This summer, everything changes.', at: 0.3 },
    { who: 'performer', text: 'Try the new Sunrise cereal. I eat it every morning.', at: 3.2 },
    { who: 'other2', text: 'Available in stores near you.', at: 7.3 },
    { who: 'other1', text: 'Sunrise. Start your day.', at: 9.8 },
  ];
  const spoken = await soundtrack(speech ? lines : [], work, p('soundtrack.wav'));
  const adVideo = path.join(dir, 'ad.mp4');
  await composeAd(bg, shots, p('soundtrack.wav'), adVideo);

  // Stills for image scanning: the performer's photo re-used small and recompressed, and two people not enrolled.
  const matchingImage = path.join(dir, 'still-performer.jpg');
  await sharp(p1.file).resize({ width: 360 }).jpeg({ quality: 60 }).toFile(matchingImage);
  const otherImage = path.join(dir, 'still-others.jpg');
  await sharp({ create: { width: 720, height: 420, channels: 3, background: '#dde3ea' } })
    .composite([
      { input: d.file, left: 20, top: 20 },
      { input: await sharp(e.file).resize({ height: 380 }).toBuffer(), left: 360, top: 20 },
    ])
    .jpeg({ quality: 85 })
    .toFile(otherImage);

  const during = (performer: boolean): Interval[] => shots.filter((s) => s.performer === performer).map((s) => ({ start: s.start, end: s.end }));
  const voices = (performer: boolean): Interval[] => spoken.filter((s) => (s.who === 'performer') === performer).map((s) => s.interval);
  const media: DemoMedia = {
    version: MEDIA_VERSION,
    dir,
    referencePhoto,
    referenceVoice,
    adVideo,
    matchingImage,
    otherImage,
    truth: { performerFace: during(true), performerVoice: voices(true), otherFaces: mergeIntervals(during(false)), otherVoices: voices(false), duration: DURATION },
    ms: Date.now() - t0,
  };
  fs.writeFileSync(manifest, JSON.stringify(media, null, 2));
  return media;
}

/** Bumped whenever the media change, so a reused folder from an older build is rebuilt. */
const MEDIA_VERSION = 1;

/** The manifest of an earlier build when it is of this version and its files are all there. */
function readManifest(file: string): DemoMedia | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as DemoMedia;
    const files = [m.referencePhoto, m.adVideo, m.matchingImage, m.otherImage, ...(m.referenceVoice === null ? [] : [m.referenceVoice])];
    return m.version === MEDIA_VERSION && files.every((f) => typeof f === 'string' && fs.existsSync(f)) ? m : undefined;
  } catch {
    return undefined;
  }
}

function mergeIntervals(list: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const iv of [...list].sort((x, y) => x.start - y.start)) {
    const prev = out[out.length - 1];
    if (prev && iv.start <= prev.end) prev.end = Math.max(prev.end, iv.end);
    else out.push({ ...iv });
  }
  return out;
}

/** Formats intervals as `3.0–7.0 s, 9.5–12.0 s`. */
export function formatIntervals(list: readonly Interval[]): string {
  return list.map((i) => `${i.start.toFixed(1)}–${i.end.toFixed(1)} s`).join(', ') || 'none';
}

// `node -r @swc-node/register examples/media.ts [DIR]` builds the media alone (to look at them).
if (require.main === module) {
  buildDemoMedia(path.resolve(process.argv[2] ?? 'demo-output/media'))
    .then((m) => console.log(JSON.stringify(m, null, 2)))
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    });
}
