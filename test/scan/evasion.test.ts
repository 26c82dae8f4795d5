import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import { ffmpegPath } from '../../src/media/ffmpeg';
import { isScanFailure, type ScanResult } from '../../src/report/schema';
import { mkvLyingDuration, mp4LyingDuration } from '../fuzz/corpus';
import { sampleImage } from '../helpers/images';
import { hasEspeak, makeSpeechWav, makeTmpDir, truncateFile } from '../helpers/media';
import { testIf } from '../helpers/requires';
import { composeVideo, cutFace } from '../helpers/scan-media';

// A composed evasion set: the enrolled performer is in every file, hidden the ways an uploader can hide them from a
// scanner that trusts the first stream or the header. Each file must report the performer, with the warning that
// says what was odd about it.

const tmp = makeTmpDir('lg-evasion-');
const f = (n: string): string => path.join(tmp.dir, n);
const db = f('store.db');
process.env.LIKENESS_HOME = f('home');
const speech = hasEspeak();
const A_BOX = { x: 1459, y: 218, w: 226, h: 220 };

let guard: Guard;
let performerA = '';

function ffmpeg(args: string[]): void {
  execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function scan(name: string): Promise<ScanResult> {
  const r = await guard.scan(f(name));
  if (isScanFailure(r)) throw new Error(`${name}: ${r.error.code} ${r.error.message}`);
  return r;
}

/** A's face matches in `r` (and nobody else does). */
function faceOfA(r: ScanResult): boolean {
  const matches = r.matches.filter((m) => m.decision === 'match');
  expect(matches.every((m) => m.performerId === performerA)).toBe(true);
  return matches.some((m) => m.modality === 'face');
}

beforeAll(async () => {
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(f('ref-a.jpg'));
  await cutFace(sampleImage(1), A_BOX, 0.4, 200, f('a.png'));
  const refs = [f('ref-a.jpg')];
  if (speech) {
    makeSpeechWav('The quick brown fox jumps over the lazy dog while the performer reads a long consent statement aloud.', f('voice-ref.wav'), { voice: 'en-us+m3' });
    makeSpeechWav('A second recording of the same voice, about weather and trains and music in the evening.', f('voice-ad.wav'), { voice: 'en-us+m3' });
    refs.push(f('voice-ref.wav'));
  }
  // The base "ad": A on screen 0.5-5.5 s of 6 s.
  const show = [{ image: f('a.png'), start: 0.5, end: 5.5, x: 220, y: 80 }];
  composeVideo(f('base.mp4'), show, { width: 640, height: 360, seconds: 6 });
  composeVideo(f('base.mkv'), show, { width: 640, height: 360, seconds: 6, codecArgs: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'] });
  // 1. The video with an empty audio track (no samples) beside it.
  ffmpeg(['-i', f('base.mp4'), '-f', 'lavfi', '-t', '1', '-i', 'anullsrc=r=16000:cl=mono', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-af', 'atrim=end_sample=0', f('empty-audio.mkv')]);
  // 2, 3. One header field edited: the MP4 mvhd duration, the MKV Segment Duration.
  fs.writeFileSync(f('lying-mvhd.mp4'), mp4LyingDuration(fs.readFileSync(f('base.mp4')), 0xffffffff));
  fs.writeFileSync(f('lying-segment.mkv'), mkvLyingDuration(fs.readFileSync(f('base.mkv')), 4294967295));
  // 4. The face only in the second video stream; the first is a test pattern.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=320x240:r=10:d=6', '-i', f('base.mp4'), '-map', '0:v', '-map', '1:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('second-video.mkv')]);
  // 5. The voice only in a later audio stream: a pattern video, two silent tracks, then the speech.
  if (speech) {
    ffmpeg([
      '-f', 'lavfi', '-i', 'testsrc=s=160x120:r=5:d=6', '-f', 'lavfi', '-t', '6', '-i', 'anullsrc=r=16000:cl=mono', '-i', f('voice-ad.wav'),
      '-map', '0:v', '-map', '1:a', '-map', '1:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', f('later-audio.mkv'),
    ]);
  }
  // 6. A cut-off Matroska file (the first 60 %).
  truncateFile(f('base.mkv'), f('truncated.mkv'), 0.6);
  // 8. A soundtrack of NaN float samples beside the face (Matroska keeps float PCM as it is).
  const nan = Buffer.alloc(16000 * 6 * 4);
  for (let i = 0; i < 16000 * 6; i++) nan.writeFloatLE(NaN, i * 4);
  fs.writeFileSync(f('nan.f32'), nan);
  ffmpeg(['-i', f('base.mp4'), '-f', 'f32le', '-ar', '16000', '-ac', '1', '-i', f('nan.f32'), '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'pcm_f32le', f('nan-audio.mkv')]);
  // 7. Cut-off audio files: the voice ad as MP3, WebM (Opus) and Ogg (Vorbis), the first 75 % of each.
  if (speech) {
    for (const [ext, codec] of [['mp3', 'libmp3lame'], ['webm', 'libopus'], ['ogg', 'libvorbis']] as const) {
      ffmpeg(['-i', f('voice-ad.wav'), '-c:a', codec, f(`voice-ad.${ext}`)]);
      truncateFile(f(`voice-ad.${ext}`), f(`truncated-voice.${ext}`), 0.75);
    }
  }

  guard = await Guard.open({ db });
  performerA = (await guard.enroll({ name: 'Performer A', noConsent: true }, refs)).performerId!;
  expect(performerA).toMatch(/[0-9a-f-]{36}/);
});

afterAll(async () => {
  await guard?.close();
  tmp.cleanup();
});

test('the base clip (control): A is found, no warning about streams or durations', async () => {
  const r = await scan('base.mp4');
  expect(faceOfA(r)).toBe(true);
  expect(r.media.truncated).toBeUndefined();
  expect(r.warnings.join('\n')).not.toMatch(/stream|declares|truncat/);
});

test('an empty audio track beside the video: A is reported, the audio stream is a warning', async () => {
  const r = await scan('empty-audio.mkv');
  expect(faceOfA(r)).toBe(true);
  expect(r.media.streams?.some((s) => s.type === 'video' && !s.error)).toBe(true);
  expect(r.warnings.join('\n')).toMatch(/audio stream 1 .*(?:could not be scanned|no samples|empty)|audio stream 1/);
});

test.each([['lying-mvhd.mp4'], ['lying-segment.mkv']])('%s (a header that lies about the duration): A is reported, the lie is a warning', async (name) => {
  const r = await scan(name);
  expect(faceOfA(r)).toBe(true);
  expect(r.media.duration).toBeLessThan(10);
  expect(r.warnings.join('\n')).toMatch(/declares .* s but .* s decode/);
});

test('the face only in the second video stream: A is reported from stream 1', async () => {
  const r = await scan('second-video.mkv');
  expect(faceOfA(r)).toBe(true);
  expect(r.media.streams?.filter((s) => s.type === 'video').map((s) => s.index)).toEqual([0, 1]);
});

testIf(speech, 'espeak-ng')('the voice only in the third audio stream: A is reported by voice', async () => {
  const r = await scan('later-audio.mkv');
  expect(r.matches.some((m) => m.modality === 'voice' && m.performerId === performerA && m.decision === 'match')).toBe(true);
  expect(r.media.streams?.filter((s) => s.type === 'audio').map((s) => s.index)).toEqual([1, 2, 3]);
});

test('a truncated Matroska file: A is reported from what decodes, marked truncated with a warning', async () => {
  const r = await scan('truncated.mkv');
  expect(faceOfA(r)).toBe(true);
  expect(r.media.truncated).toBe(true);
  expect(r.warnings.join('\n')).toMatch(/truncat|cut off|ends early/i);
});

testIf(speech, 'espeak-ng').each([['mp3'], ['webm'], ['ogg']])('a truncated .%s voice file: A is reported by voice from what decodes, marked truncated with a warning', async (ext) => {
  const r = await scan(`truncated-voice.${ext}`);
  expect(r.matches.some((m) => m.modality === 'voice' && m.performerId === performerA && m.decision === 'match')).toBe(true);
  expect(r.media.truncated).toBe(true);
  expect(r.warnings.join('\n')).toMatch(/truncated/);
});

testIf(speech, 'espeak-ng')('a soundtrack of NaN samples beside the face: A is reported, the audio stream is refused as not audio', async () => {
  const r = await scan('nan-audio.mkv');
  expect(faceOfA(r)).toBe(true);
  const audio = r.media.streams?.find((s) => s.type === 'audio');
  expect(audio?.error).toMatchObject({ code: 'E_DECODE' });
  expect(r.warnings.join('\n')).toMatch(/audio stream 1 could not be scanned \(E_DECODE\).*NaN: not audio/);
});
