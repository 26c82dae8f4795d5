/**
 * Video scanning speed: seconds of video scanned per wall-clock second at 2 fps sampling, against ffmpeg decoding the
 * same frames alone (the floor), on a clip the benchmark composes itself: 60 s of 1280x720 H.264 with faces cut from
 * the sample photos of @vladmandic/face-api (MIT) on screen most of the time, and espeak-ng speech on the soundtrack.
 * One performer (face + voice) is enrolled so both the frame and the soundtrack pipelines do their full work.
 *
 *   npm run bench:scan -- [--json] [--seconds 60] [--fps 2] [--presets fast,accurate] [--still]
 *
 * By default the faces drift (a handheld shot) over a moving test pattern, so neither the unchanged-frame shortcut
 * nor a static picture flatters the number; `--still` composes the same clip with still faces on grey.
 * Prints `{realtimeFactor, decodeOnlyRealtimeFactor, defaultPreset, ...}`; `realtimeFactor` is the default preset's
 * (the fastest preset's when the default was not run), each preset's is under `presets`.
 */
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { DEFAULT_FACE_PRESET, type FacePreset } from '../src/face/analyzer';
import { ffmpegPath } from '../src/media/ffmpeg';
import { streamVideoFrames } from '../src/media/video';
import { Guard } from '../src/guard';
import { isScanFailure } from '../src/report/schema';
import { sampleImage } from '../test/helpers/images';
import { makeSpeechWav, makeTmpDir } from '../test/helpers/media';
import { composeVideo, cutFace, type Appearance } from '../test/helpers/scan-media';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Faces found in the sample photos (fast preset boxes), to cut tiles from. */
const FACES: { img: 1 | 2 | 3 | 4 | 5 | 6; box: { x: number; y: number; w: number; h: number } }[] = [
  { img: 1, box: { x: 1459, y: 218, w: 226, h: 220 } },
  { img: 1, box: { x: 825, y: 422, w: 211, h: 225 } },
  { img: 2, box: { x: 1445, y: 156, w: 204, h: 238 } },
  { img: 3, box: { x: 1071, y: 203, w: 233, h: 317 } },
  { img: 4, box: { x: 658, y: 65, w: 188, h: 251 } },
  { img: 5, box: { x: 1414, y: 390, w: 180, h: 274 } },
  { img: 6, box: { x: 260, y: 488, w: 207, h: 276 } },
];

const SPEECH = [
  'Welcome to the show. Tonight we talk about music, films and the people who make them.',
  'Our guest has been on stage for twenty years and still rehearses every single morning.',
  'After the break we will look at the new season and the surprises it holds for everyone.',
  'Thank you for watching, and remember to check the schedule for next week.',
];

async function composeClip(dir: string, seconds: number, still: boolean): Promise<string> {
  const tiles: string[] = [];
  for (const [i, f] of FACES.entries()) tiles.push(await cutFace(sampleImage(f.img), f.box, 0.5, 260 + (i % 3) * 40, path.join(dir, `tile${i}.png`)));
  // Two faces on screen for 8 s out of every 10, the pair changing each period; 2 s of empty set between.
  const shows: Appearance[] = [];
  for (let t = 0, k = 0; t < seconds; t += 10, k++) {
    const end = Math.min(seconds, t + 8);
    // Moving clip: faces drift like a handheld shot (up to ~25 px between samples) over a moving test pattern.
    const drift = (base: number, amp: number, w: number): number | string => (still ? base : `${base}+${amp}*sin(${w}*t+${k})`);
    shows.push({ image: tiles[k % tiles.length]!, start: t, end, x: drift(160 + (k % 2) * 80, 60, 0.8), y: drift(180, 20, 0.5) });
    shows.push({ image: tiles[(k + 3) % tiles.length]!, start: t + 1, end, x: drift(760, 50, 0.7), y: drift(140, 25, 0.6) });
  }
  const parts: string[] = [];
  for (let i = 0; i * 15 < seconds; i++) parts.push(makeSpeechWav(SPEECH[i % SPEECH.length]!, path.join(dir, `s${i}.wav`), { voice: i % 2 ? 'en-us+m3' : 'en+f4' }));
  const list = path.join(dir, 'speech.wav');
  execFileSync(ffmpegPath(), ['-v', 'error', '-y', ...parts.flatMap((p) => ['-i', p]), '-filter_complex', parts.map((_, i) => `[${i}:a]apad=pad_dur=${15}[p${i}]`).join(';') + ';' + parts.map((_, i) => `[p${i}]`).join('') + `concat=n=${parts.length}:v=0:a=1`, '-t', String(seconds), list]);
  return composeVideo(path.join(dir, 'clip.mp4'), shows, {
    width: 1280,
    height: 720,
    seconds,
    audio: { file: list, at: 0 },
    ...(still ? {} : { background: 'testsrc2' }),
    codecArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k'],
  });
}

async function decodeOnly(file: string, fps: number): Promise<{ seconds: number; frames: number }> {
  const t0 = performance.now();
  let frames = 0;
  for await (const f of streamVideoFrames(file, { fps })) frames += f.image.width > 0 ? 1 : 0;
  return { seconds: (performance.now() - t0) / 1000, frames };
}

async function main(): Promise<void> {
  const seconds = Number(arg('--seconds') ?? 60);
  const fps = Number(arg('--fps') ?? 2);
  const presets = (arg('--presets') ?? 'fast,accurate').split(',') as FacePreset[];
  const tmp = makeTmpDir('lg-bench-scan-');
  process.env.LIKENESS_HOME = path.join(tmp.dir, 'home');
  try {
    const still = process.argv.includes('--still');
    const clip = await composeClip(tmp.dir, seconds, still);
    const ref = path.join(tmp.dir, 'ref.jpg');
    await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(ref);
    const voiceRef = makeSpeechWav('This is the reference recording of the performer, read slowly for the enrollment of the voice.', path.join(tmp.dir, 'vref.wav'), { voice: 'en-us+m3' });
    await decodeOnly(clip, fps); // warm the page cache and ffmpeg start-up
    const decode = await decodeOnly(clip, fps);
    const out: Record<string, unknown> = {};
    for (const preset of presets) {
      const guard = await Guard.open({ db: path.join(tmp.dir, `${preset}.db`), key: 'ab'.repeat(32), facePreset: preset });
      try {
        await guard.enroll({ name: 'Bench performer', noConsent: true }, [ref, voiceRef]);
        await guard.scan(ref); // load models outside the timed run
        const t0 = performance.now();
        const r = await guard.scan(clip, { fps });
        const wall = (performance.now() - t0) / 1000;
        if (isScanFailure(r)) throw new Error(`${r.error.code}: ${r.error.message}`);
        out[preset] = {
          realtimeFactor: round(seconds / wall),
          wallSeconds: round(wall),
          msPerFrame: round((r.timings.faces ?? 0) / Math.max(1, r.stats?.sampledFrames ?? 1)),
          timings: r.timings,
          stats: r.stats,
          matches: r.matches.map((m) => ({ name: m.name, modality: m.modality, decision: m.decision, segments: m.segments.length })),
        };
      } finally {
        await guard.close();
      }
    }
    const rtf = (p: string): number => (out[p] as { realtimeFactor: number }).realtimeFactor;
    const headline = presets.includes(DEFAULT_FACE_PRESET) ? rtf(DEFAULT_FACE_PRESET) : Math.max(...presets.map(rtf));
    const result = {
      realtimeFactor: headline,
      defaultPreset: DEFAULT_FACE_PRESET,
      decodeOnlyRealtimeFactor: round(seconds / decode.seconds),
      clip: { seconds, width: 1280, height: 720, codec: 'h264', fps, content: still ? 'still faces on grey' : 'faces drifting over a moving test pattern' },
      decodeOnly: { wallSeconds: round(decode.seconds), frames: decode.frames },
      presets: out,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    };
    if (process.argv.includes('--json')) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(`decode only: ${result.decodeOnlyRealtimeFactor}x realtime (${decode.frames} frames)`);
      for (const p of presets) console.log(`${p}: ${(out[p] as { realtimeFactor: number }).realtimeFactor}x realtime`);
    }
  } finally {
    tmp.cleanup();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
