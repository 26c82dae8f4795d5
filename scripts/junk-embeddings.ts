// What the shipped face and voice embedders make of junk: constant crops, noise, gradients; silence, DC, tones,
// noise, clicks. Prints, per model: the raw output norm of each junk input (before L2 normalisation), the cosine
// between junk embeddings, and the cosine of real templates (faces in the face-api demo photos, the espeak voice
// fixtures, and ../shared/eval voices/faces when present, read in place) to the nearest junk embedding. These numbers
// chose the degeneracy limits in src/kernels/vector.ts and src/face|voice junk prototypes.
//
//   node -r @swc-node/register scripts/junk-embeddings.ts [--shared N] [--voice-model ID]   (N real files per modality from ../shared/eval)
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer } from '../src/face/analyzer';
import { VoiceEmbedder } from '../src/voice/embed';
import { decodeAudio } from '../src/media/audio';
import { detectSpeech } from '../src/voice/vad';
import { ortSession, ort } from '../src/models/ort';
import { toNchw } from '../src/kernels/image';
import type { FaceDetection, RgbImage } from '../src/types';
import { ARCFACE_112 } from '../src/kernels/geometry';
import { faceJunkCrops, voiceJunkSignals } from '../src/media/junk';

function flat(rr: number, g: number, b: number): RgbImage {
  return { width: 112, height: 112, data: Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => [rr, g, b][i % 3]!) };
}
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}
function unit(a: Float32Array): Float32Array {
  const n = norm(a);
  return Float32Array.from(a, (x) => x / n);
}
function stats(xs: number[]): { n: number; min: number; median: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]!;
  return { n: s.length, min: r(s[0]!), median: r(q(0.5)), p99: r(q(0.99)), max: r(s[s.length - 1]!) };
}
function r(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
/** The five highest scores with their labels. */
function top(scores: number[], labels: string[]): string[] {
  return scores
    .map((s, i) => [s, labels[i]!] as const)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 5)
    .map(([s, l]) => `${r(s)} ${l}`);
}
function pairwise(names: string[], vs: Float32Array[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < vs.length; i++) for (let j = i + 1; j < vs.length; j++) out[`${names[i]}~${names[j]}`] = r(dot(vs[i]!, vs[j]!));
  return out;
}

async function main(): Promise<void> {
  const sharedN = Number(process.argv[process.argv.indexOf('--shared') + 1] ?? 0) || 0;
  const out: Record<string, unknown> = {};

  // Faces: raw ONNX output of junk 112x112 crops (no detector involved: the embedder's own answer).
  const session = await ortSession('faceplugin-mfn512');
  const T = ort().Tensor;
  const junkCrops = faceJunkCrops();
  const faceJunkRaw: Float32Array[] = [];
  const faceNorms: Record<string, number> = {};
  for (const [name, crop] of Object.entries(junkCrops)) {
    const input = new Float32Array(3 * 112 * 112);
    toNchw(crop, 127, 128, input, 0, false);
    const raw = Float32Array.from((await session.run({ input: new T('float32', input, [1, 3, 112, 112]) })).output!.data as Float32Array);
    faceNorms[name] = r(norm(raw));
    faceJunkRaw.push(unit(raw));
  }
  const fa = await FaceAnalyzer.create();
  // Comparisons use the shipped junk set (the analyzer's own path: mirror-averaged, as real faces are embedded).
  const faceJunk = [...(await fa.junkSet()).prototypes];
  const singleViewAgreement = r(Math.min(...faceJunk.map((v, i) => dot(v, faceJunkRaw[i]!))));
  const at = ARCFACE_112.map(([x, y]) => [x, y]) as FaceDetection['landmarks'];
  const det: FaceDetection = { box: { x: 0, y: 0, w: 112, h: 112 }, landmarks: at, score: 1 };
  const realFaces: Float32Array[] = [];
  const faceLabels: string[] = [];
  const fd = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  const files = fs.readdirSync(fd).filter((f) => /^sample\d\.jpg$/.test(f)).map((f) => path.join(fd, f));
  if (sharedN > 0 && fs.existsSync('../shared/eval/faces')) {
    const all: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (/\.(jpe?g|png)$/i.test(e.name)) all.push(path.join(d, e.name));
      }
    };
    walk('../shared/eval/faces');
    files.push(...all.sort().filter((_, i) => i % Math.max(1, Math.floor(all.length / sharedN)) === 0).slice(0, sharedN));
  }
  for (const f of files) {
    try {
      for (const face of (await fa.analyze(f)).faces) (realFaces.push(face.embedding), faceLabels.push(`${path.basename(f)} q=${face.quality.score.toFixed(2)} ${face.quality.reasons.join('+')}`));
    } catch {
      /* unreadable: skipped */
    }
  }
  // Held-out junk (not in the prototype set): how close each gets to its nearest prototype, and to real faces.
  const heldFace: Record<string, RgbImage> = {
    grey30: flat(30, 30, 30), grey100: flat(100, 100, 100), grey220: flat(220, 220, 220), yellow: flat(220, 200, 40), cyan: flat(40, 200, 220), skin: flat(200, 160, 130),
    stripes: { width: 112, height: 112, data: Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => ((Math.floor(i / 3) % 112) >> 2) & 1 ? 200 : 50) },
    noise2: { width: 112, height: 112, data: Uint8Array.from({ length: 112 * 112 * 3 }, () => Math.floor(Math.random() * 256)) },
  };
  const heldFaceOut: Record<string, { nearestJunk: number; maxReal: number }> = {};
  for (const [name, crop] of Object.entries(heldFace)) {
    const v = (await fa.describe(crop, [det]))[0]!.embedding;
    heldFaceOut[name] = { nearestJunk: r(Math.max(...faceJunk.map((j) => dot(v, j)))), maxReal: r(Math.max(...realFaces.map((j) => dot(v, j)))) };
  }
  const faceReal = realFaces.map((v) => Math.max(...faceJunk.map((j) => dot(v, j))));
  const faceRealReal: number[] = [];
  for (let i = 0; i < realFaces.length; i++) for (let j = i + 1; j < realFaces.length; j++) faceRealReal.push(dot(realFaces[i]!, realFaces[j]!));
  out.face = {
    model: fa.modelId,
    junkRawNorm: faceNorms,
    singleViewAgreement,
    junkPairwise: stats(Object.values(pairwise(Object.keys(junkCrops), faceJunk))),
    realToNearestJunk: stats(faceReal),
    realToReal: stats(faceRealReal),
    realFaces: realFaces.length,
    closestToJunk: top(faceReal, faceLabels),
    heldOutJunk: heldFaceOut,
  };

  // Voices: raw model output for junk signals, embedded whole (no speech detector: the embedder's own answer).
  const vm = process.argv.indexOf('--voice-model');
  const ve = await VoiceEmbedder.create(vm > 0 ? { model: process.argv[vm + 1]! } : {});
  const sig = voiceJunkSignals();
  const voiceJunk: Float32Array[] = [];
  const voiceNorms: Record<string, number | string> = {};
  const rawRun = (ve as unknown as { run: (x: Float32Array) => Promise<Float32Array> }).run;
  for (const [name, x] of Object.entries(sig)) {
    try {
      const raw = await rawRun(x);
      voiceNorms[name] = r(norm(raw));
      voiceJunk.push(unit(raw));
    } catch (e) {
      voiceNorms[name] = `error: ${(e as Error).message}`;
    }
  }
  // The full pipeline (speech detection + windows) on the same junk: what enroll and scan would see.
  const pipeline: Record<string, unknown> = {};
  for (const [name, x] of Object.entries(sig)) {
    const v = await ve.embed({ sampleRate: 16000, samples: x, offset: 0 });
    pipeline[name] = { speechSeconds: r(v.speechSeconds), windows: v.windows.length, nearestJunk: v.embedding ? r(Math.max(...voiceJunk.map((j) => dot(v.embedding!, j)))) : null };
  }
  // A 300 Hz tone pulsing 4 times a second, 10 s: junk the speech detector takes for speech.
  {
    const x = Float32Array.from({ length: 160000 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 300 * i) / 16000) * (0.5 + 0.5 * Math.sin((2 * Math.PI * 4 * i) / 16000)));
    const v = await ve.embed({ sampleRate: 16000, samples: x, offset: 0 });
    const cos = v.windows.map((w) => Math.max(...voiceJunk.map((j) => dot(w.embedding, j))));
    pipeline.pulsingTone10s = { speechSeconds: r(v.speechSeconds), windows: v.windows.length, nearestJunkMin: r(Math.min(...cos)), nearestJunkMax: r(Math.max(...cos)) };
  }
  const voiceFiles = ['test/fixtures/voice/espeak-f4.wav', 'test/fixtures/voice/espeak-m3.wav'];
  if (sharedN > 0 && fs.existsSync('../shared/eval/voices')) {
    const all: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (/\.(wav|flac|mp3|ogg|m4a)$/i.test(e.name)) all.push(path.join(d, e.name));
      }
    };
    walk('../shared/eval/voices');
    voiceFiles.push(...all.sort().filter((_, i) => i % Math.max(1, Math.floor(all.length / sharedN)) === 0).slice(0, sharedN));
  }
  const realVoices: Float32Array[] = [];
  const voiceLabels: string[] = [];
  for (const f of voiceFiles) {
    try {
      const v = await ve.embed(await decodeAudio(f));
      for (const w of v.windows) (realVoices.push(w.embedding), voiceLabels.push(`${path.basename(f)} ${w.start.toFixed(1)}-${w.end.toFixed(1)} s speech ${w.speechSeconds.toFixed(1)} s of ${v.speechSeconds.toFixed(1)}`));
    } catch {
      /* unreadable or no speech: skipped */
    }
  }
  const n3 = 48000;
  const sin = (f: number, a: number) => Float32Array.from({ length: n3 }, (_, i) => a * Math.sin((2 * Math.PI * f * i) / 16000));
  const heldVoice: Record<string, Float32Array> = {
    tone250: sin(250, 0.3), tone2k: sin(2000, 0.2), dcNeg: Float32Array.from({ length: n3 }, () => -0.3),
    chirp: Float32Array.from({ length: n3 }, (_, i) => 0.4 * Math.sin(2 * Math.PI * (100 + (i / n3) * 3000) * (i / 16000))),
    noiseMid: Float32Array.from({ length: n3 }, () => 0.2 * (Math.random() - 0.5)),
    toneInNoise: Float32Array.from(sin(700, 0.3), (x) => x + 0.02 * (Math.random() - 0.5)),
  };
  // Non-finite input, as it would arrive if the decoder's checks were bypassed (the NaN enrollment).
  heldVoice.nan = Float32Array.from({ length: n3 }, () => NaN);
  heldVoice.inf = Float32Array.from({ length: n3 }, () => Infinity);
  heldVoice.huge = Float32Array.from({ length: n3 }, (_, i) => (i % 2 ? 3e38 : -3e38));
  const heldVoiceOut: Record<string, { nearestJunk: number; maxReal: number; rawNorm: number; sileroSpeechSeconds: number } | string> = {};
  for (const [name, x] of Object.entries(heldVoice)) {
    try {
      const raw = await rawRun(x);
      const v = unit(raw);
      const speech = (await detectSpeech({ sampleRate: 16000, samples: x, offset: 0 })).reduce((t, g) => t + g.end - g.start, 0);
      heldVoiceOut[name] = { nearestJunk: r(Math.max(...voiceJunk.map((j) => dot(v, j)))), maxReal: r(Math.max(...realVoices.map((j) => dot(v, j)))), rawNorm: r(norm(raw)), sileroSpeechSeconds: r(speech) };
    } catch (e) {
      heldVoiceOut[name] = `error: ${(e as Error).message}`;
    }
  }
  const voiceReal = realVoices.map((v) => Math.max(...voiceJunk.map((j) => dot(v, j))));
  const voiceRealReal: number[] = [];
  for (let i = 0; i < realVoices.length; i++) for (let j = i + 1; j < realVoices.length; j++) voiceRealReal.push(dot(realVoices[i]!, realVoices[j]!));
  out.voice = {
    model: ve.modelId,
    junkRawNorm: voiceNorms,
    junkPairwise: stats(Object.values(pairwise(Object.keys(sig), voiceJunk))),
    pipeline,
    realToNearestJunk: stats(voiceReal),
    realToReal: stats(voiceRealReal),
    realWindows: realVoices.length,
    closestToJunk: top(voiceReal, voiceLabels),
    heldOutJunk: heldVoiceOut,
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
