// What the shipped face and voice embedders make of junk: constant crops, noise, gradients; silence, DC, tones,
// noise, clicks. Prints, per model: the raw output norm of each junk input (before L2 normalisation), the cosine
// between junk embeddings, and the cosine of real templates (faces in the face-api demo photos, the espeak voice
// fixtures, and ../shared/eval voices/faces when present, read in place) to the nearest junk embedding. These numbers
// chose the degeneracy limits in src/kernels/vector.ts and src/face|voice junk prototypes.
//
//   node -r @swc-node/register scripts/junk-embeddings.ts [--shared N]   (N real files per modality from ../shared/eval)
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer } from '../src/face/analyzer';
import { VoiceEmbedder } from '../src/voice/embed';
import { decodeAudio } from '../src/media/audio';
import { ortSession, ort } from '../src/models/ort';
import { toNchw } from '../src/kernels/image';
import { faceJunkCrops, voiceJunkSignals } from '../src/media/junk';

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
  const faceJunk: Float32Array[] = [];
  const faceNorms: Record<string, number> = {};
  for (const [name, crop] of Object.entries(junkCrops)) {
    const input = new Float32Array(3 * 112 * 112);
    toNchw(crop, 127, 128, input, 0, false);
    const raw = Float32Array.from((await session.run({ input: new T('float32', input, [1, 3, 112, 112]) })).output!.data as Float32Array);
    faceNorms[name] = r(norm(raw));
    faceJunk.push(unit(raw));
  }
  const fa = await FaceAnalyzer.create();
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
  const faceReal = realFaces.map((v) => Math.max(...faceJunk.map((j) => dot(v, j))));
  const faceRealReal: number[] = [];
  for (let i = 0; i < realFaces.length; i++) for (let j = i + 1; j < realFaces.length; j++) faceRealReal.push(dot(realFaces[i]!, realFaces[j]!));
  out.face = {
    model: fa.modelId,
    junkRawNorm: faceNorms,
    junkPairwise: stats(Object.values(pairwise(Object.keys(junkCrops), faceJunk))),
    realToNearestJunk: stats(faceReal),
    realToReal: stats(faceRealReal),
    realFaces: realFaces.length,
    closestToJunk: top(faceReal, faceLabels),
  };

  // Voices: raw model output for junk signals, embedded whole (no speech detector: the embedder's own answer).
  const ve = await VoiceEmbedder.create();
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
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
