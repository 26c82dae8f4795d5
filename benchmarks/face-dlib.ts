// Does face-api's dlib ResNet 128-d descriptor help the shipped 512-d embedder, alone or fused (issue 2)?
// Detections (the shipped Human + ONNX fallback, largest face) and both embeddings are made once per image and cached
// in /tmp/face-dlib-cache.json; the dlib descriptor reads a 150x150 chip cut the way dlib's
// get_face_chip_details(shape, 150, 0.25) cuts it, from our five ArcFace points (benchmarks/dlib-chip.ts).
// usage: node -r @swc-node/register benchmarks/face-dlib.ts [--cache FILE]
import * as fs from 'fs';
import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import type * as FaceApi from '@vladmandic/face-api/dist/face-api.node-wasm';
import { FacepluginDetector, FacepluginEmbedder } from '../src/face/faceplugin';
import { normaliseInPlace } from '../src/kernels/vector';
import { FallbackDetector } from '../src/face/fallback';
import { ARCFACE_112, applyAffine, largestFace, similarityTransform } from '../src/kernels/geometry';
import { HumanDetector } from './human-peer';
import { alignDlibChip, dlibChipTemplate } from './dlib-chip';
import { gaussianBlurRgb, warpAffineRgb } from '../src/kernels/image';
import { decodeImage } from '../src/media/image';
import { parseCsv } from '../src/eval/csv';
import { verificationMetrics } from '../src/eval/metrics';
import type { FaceDetection, FivePoints, RgbImage } from '../src/types';

type Tf = typeof tfTypes;
type FaceApiModule = typeof FaceApi;

interface Cached {
  det: FaceDetection | null;
  e512: number[] | null;
  /** Per template: plain and mirrored-chip descriptors (each L2-normalised) and their raw norms. */
  dlib: Record<string, { p: number[]; f: number[]; n?: number; nf?: number } | null>;
}
interface Cache {
  items: Record<string, Cached>;
  /** Raw dlib5 descriptors (plain, mirrored) of every face in face-api's demo photos: a cohort outside both lists. */
  cohort?: number[][];
  dlibMs: Record<string, number[]>;
  detMs: number[];
}

const ROOT = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');

/** Chip templates tried: dlib's mean-shape five points, ArcFace's template fitted into that frame, and a 0.9 zoom. */
function templates(): Record<string, FivePoints> {
  const dlib5 = dlibChipTemplate();
  const fit = similarityTransform(ARCFACE_112, dlib5);
  return {
    dlib5,
    arcInDlib: ARCFACE_112.map((p) => applyAffine(fit, p)) as FivePoints,
    dlib5x0_9: dlibChipTemplate({ scale: 0.9 }),
  };
}

/** face-api's node-wasm build with only the recognition net (loading as in benchmarks/faceapi.ts). */
async function loadFaceApi(): Promise<FaceApiModule> {
  const dir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
  const saved = console.log;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void };
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
    console.log = () => undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require(path.join(dir, 'dist', 'face-api.node-wasm.js')) as FaceApiModule;
    const tf = api.tf as unknown as Tf;
    if (tf.getBackend() !== 'wasm') {
      try {
        wasm.setWasmPaths(wasmDir);
      } catch {
        // Already initialised by Human in this process: the paths are set.
      }
      await tf.setBackend('wasm');
    }
    await tf.ready();
    await api.nets.faceRecognitionNet.loadFromDisk(path.join(dir, 'model'));
    return api;
  } finally {
    console.log = saved;
  }
}

function interocular(d: FaceDetection): number {
  return Math.hypot(d.landmarks[1][0] - d.landmarks[0][0], d.landmarks[1][1] - d.landmarks[0][1]);
}

function mirror(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (y * w + (w - 1 - x)) * 3);
  return { width: w, height: h, data: out };
}

async function describe(api: FaceApiModule, chip: RgbImage): Promise<{ v: number[]; n: number }> {
  const tf = api.tf as unknown as Tf;
  const t = tf.tensor3d(chip.data, [chip.height, chip.width, 3], 'int32');
  try {
    const d = Float32Array.from((await api.nets.faceRecognitionNet.computeFaceDescriptor(t as never)) as Float32Array);
    const n = Math.hypot(...d);
    return { v: Array.from(normaliseInPlace(d)), n };
  } finally {
    tf.dispose(t);
  }
}

function readRows(file: string): string[][] {
  return parseCsv(fs.readFileSync(path.join(ROOT, file), 'utf8')).slice(1).filter((r) => r.length > 3);
}

function loadCache(file: string): Cache {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as Cache;
  return { items: {}, dlibMs: {}, detMs: [] };
}

const round = (v: ArrayLike<number>): number[] => Array.from(v, (x) => Math.round(x * 1e6) / 1e6);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const median = (v: number[]): number => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]! : NaN);

/** Unit descriptor of a template, plain or averaged with its mirror. */
function dlibVec(c: Cached | undefined, tpl: string, flip: boolean): number[] | null {
  const d = c?.dlib[tpl];
  if (!d) return null;
  return flip ? Array.from(normaliseInPlace(Float32Array.from(d.p, (v, i) => v + d.f[i]!))) : d.p;
}

type PairScore = (a: string, b: string) => number | null;

/** TAR at FAR 1e-3 / 1e-2 over the list, and TAR per degradation at the list-wide 1e-3 threshold. */
function scoreRows(rows: string[][], score: PairScore, missing = -1): Record<string, unknown> {
  const g: number[] = [], im: number[] = [], kinds: Record<string, number[]> = {};
  for (const r of rows) {
    const s = score(r[0]!, r[1]!) ?? missing;
    if (r[2] === '1') {
      g.push(s);
      if (r[4]) (kinds[r[4]] ??= []).push(s);
    } else im.push(s);
  }
  const m = verificationMetrics(g, im);
  const t = m.thresholdAtFar['1e-3']!;
  const out: Record<string, unknown> = { tarAtFar1e3: +m.tarAtFar['1e-3']!.toFixed(4), tarAtFar1e2: +m.tarAtFar['1e-2']!.toFixed(4), eer: +m.eer.toFixed(4) };
  if (Object.keys(kinds).length) out.byKind = Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(v.filter((s) => s >= t).length / v.length).toFixed(3)]));
  return out;
}

/** Mean and standard deviation of the impostor scores of a list (pairs where both faces have an embedding). */
function impostorStats(rows: string[][], score: PairScore): { mu: number; sd: number } {
  const v = rows.filter((r) => r[2] === '0').map((r) => score(r[0]!, r[1]!)).filter((s): s is number => s !== null);
  const mu = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length);
  return { mu, sd };
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'pairs-degraded.csv'))) return console.log(JSON.stringify({ skipped: 'no ../shared/eval/faces' }));
  const args = process.argv.slice(2);
  const ci = args.indexOf('--cache');
  const cacheFile = ci >= 0 ? args[ci + 1]! : '/tmp/face-dlib-cache.json';
  const degraded = readRows('pairs-degraded.csv');
  const all = readRows('pairs-all.csv');
  const files = Array.from(new Set([...degraded, ...all].flatMap((r) => [r[0]!, r[1]!])));
  const cache = loadCache(cacheFile);
  const save = (): void => fs.writeFileSync(cacheFile, JSON.stringify(cache));
  const log = (s: string): boolean => process.stderr.write(s + '\n');

  // 1. Detections and the shipped 512-d embedding, once per image.
  const todo = files.filter((f) => !(f in cache.items));
  if (todo.length) {
    const det = new FallbackDetector([new HumanDetector(), new FacepluginDetector()]);
    const emb = new FacepluginEmbedder({ flip: true });
    for (const [i, f] of todo.entries()) {
      const img = await decodeImage(path.join(ROOT, f));
      const t0 = performance.now();
      const d = largestFace(await det.detect(img)) ?? null;
      cache.detMs.push(performance.now() - t0);
      const e = d ? (await emb.embed(img, [d]))[0]! : null;
      cache.items[f] = { det: d, e512: e ? round(e) : null, dlib: {} };
      if (i % 50 === 49) (save(), log(`detected ${i + 1}/${todo.length}`));
    }
    save();
  }

  // 2. dlib descriptors: every template on the selection images (pairs-all + the jpeg pairs), then the chosen one on all.
  const tpls = templates();
  const jpeg = degraded.filter((r) => r[4] === 'jpeg');
  const selFiles = new Set([...all, ...jpeg].flatMap((r) => [r[0]!, r[1]!]));
  let api: FaceApiModule | undefined;
  const ensureDlib = async (fs_: Iterable<string>, tpl: string, needNorm = false): Promise<void> => {
    for (const f of fs_) {
      const c = cache.items[f]!;
      const have = c.dlib[tpl];
      if (tpl in c.dlib && (!needNorm || have === null || have?.n !== undefined)) continue;
      if (!c.det) {
        c.dlib[tpl] = null;
        continue;
      }
      api ??= await loadFaceApi();
      const img = await decodeImage(path.join(ROOT, f));
      const t0 = performance.now();
      let chip = warpAffineRgb(img, similarityTransform(c.det.landmarks, tpls[tpl.replace(/Blur$/, '')]!), 150, 150);
      // The shipped 512-d rule (blur sigma 1 on 112 px when the eyes are < 30 px apart), scaled to the 150 px chip.
      if (tpl.endsWith('Blur') && interocular(c.det) < 30) chip = gaussianBlurRgb(chip, 150 / 112);
      const p = await describe(api, chip);
      const t1 = performance.now();
      const fl = await describe(api, mirror(chip));
      (cache.dlibMs[tpl] ??= []).push(t1 - t0, performance.now() - t1);
      c.dlib[tpl] = { p: round(p.v), f: round(fl.v), n: p.n, nf: fl.n };
    }
    save();
  };
  const selection: Record<string, unknown> = {};
  let best = { key: '', tpl: 'dlib5', flip: true, score: -Infinity };
  for (const tpl of Object.keys(tpls)) {
    await ensureDlib(selFiles, tpl);
    log(`selection template ${tpl} done`);
    for (const flip of [false, true]) {
      const s: PairScore = (a, b) => {
        const x = dlibVec(cache.items[a], tpl, flip), y = dlibVec(cache.items[b], tpl, flip);
        return x && y ? dot(x, y) : null;
      };
      const ra = scoreRows(all, s), rj = scoreRows(jpeg, s);
      const key = `${tpl}${flip ? '+flip' : ''}`;
      selection[key] = { pairsAll: ra, jpegPairs: rj };
      // Pick by clean + jpeg TAR@1e-3 (combo is never looked at here); EER breaks ties.
      const sc = (ra.tarAtFar1e3 as number) + (rj.tarAtFar1e3 as number) - 0.01 * ((ra.eer as number) + (rj.eer as number));
      if (sc > best.score) best = { key, tpl, flip, score: sc };
    }
  }
  await ensureDlib(files, best.tpl, true);
  // Exploratory (not selected on clean+jpeg, fixed a priori): the shipped small-face blur applied to the dlib chip.
  const blurTpl = `${best.tpl}Blur`;
  await ensureDlib(files, blurTpl, true);
  if (!cache.cohort) {
    const det = new FallbackDetector([new HumanDetector(), new FacepluginDetector()]);
    api ??= await loadFaceApi();
    const demo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
    cache.cohort = [];
    for (let n = 1; n <= 6; n++) {
      const img = await decodeImage(path.join(demo, `sample${n}.jpg`));
      for (const d of await det.detect(img)) {
        const chip = warpAffineRgb(img, similarityTransform(d.landmarks, tpls[best.tpl]!), 150, 150);
        const p = await describe(api, chip), fl = await describe(api, mirror(chip));
        cache.cohort.push([...p.v.map((v) => v * p.n), ...fl.v.map((v) => v * fl.n)]);
      }
    }
    save();
  }
  // Sanity: the chip helper in src/ cuts the same chip as the template used here.
  const probe = files.find((f) => cache.items[f]!.det)!;
  const probeImg = await decodeImage(path.join(ROOT, probe));
  const same = Buffer.from(alignDlibChip(probeImg, cache.items[probe]!.det!.landmarks).data).equals(
    Buffer.from(warpAffineRgb(probeImg, similarityTransform(cache.items[probe]!.det!.landmarks, tpls.dlib5!), 150, 150).data),
  );

  // 3. Scores.
  const cos512: PairScore = (a, b) => {
    const x = cache.items[a]?.e512, y = cache.items[b]?.e512;
    return x && y ? dot(x, y) : null;
  };
  const cosDlib = (flip: boolean): PairScore => (a, b) => {
    const x = dlibVec(cache.items[a], best.tpl, flip), y = dlibVec(cache.items[b], best.tpl, flip);
    return x && y ? dot(x, y) : null;
  };
  const dl = cosDlib(best.flip);
  const raw = (c: Cached | undefined, tpl: string): number[] | null => {
    const d = c?.dlib[tpl];
    if (!d || d.n === undefined) return null;
    return best.flip ? d.p.map((v, i) => (v * d.n! + d.f[i]! * d.nf!) / 2) : d.p.map((v) => v * d.n!);
  };
  // dlib's own metric: Euclidean distance between raw descriptors (negated so that higher means "same").
  const euclid: PairScore = (a, b) => {
    const x = raw(cache.items[a], best.tpl), y = raw(cache.items[b], best.tpl);
    return x && y ? -Math.sqrt(x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0)) : null;
  };
  // Cosine after removing the cohort's mean unit descriptor (dlib impostor cosines sit near 0.84: a common component).
  const dim = 128;
  const centre = new Float64Array(dim);
  for (const c of cache.cohort!) {
    const u = normaliseInPlace(Float32Array.from(best.flip ? c.slice(0, dim).map((v, i) => v + c[dim + i]!) : c.slice(0, dim)));
    u.forEach((v, i) => (centre[i]! += v / cache.cohort!.length));
  }
  const centred = new Map<string, Float32Array | null>();
  const centredVec = (f: string): Float32Array | null => {
    if (!centred.has(f)) {
      const v = dlibVec(cache.items[f], best.tpl, best.flip);
      centred.set(f, v ? normaliseInPlace(Float32Array.from(v, (x, i) => x - centre[i]!)) : null);
    }
    return centred.get(f)!;
  };
  const centredCos: PairScore = (a, b) => {
    const x = centredVec(a), y = centredVec(b);
    return x && y ? dot(x, y) : null;
  };
  const blurCos: PairScore = (a, b) => {
    const x = dlibVec(cache.items[a], blurTpl, best.flip), y = dlibVec(cache.items[b], blurTpl, best.flip);
    return x && y ? dot(x, y) : null;
  };
  const fuse = (w: number, z512 = { mu: 0, sd: 1 }, zd = { mu: 0, sd: 1 }, other: PairScore = dl): PairScore => (a, b) => {
    const s = cos512(a, b), d = other(a, b);
    if (s === null) return null;
    const zs = (s - z512.mu) / z512.sd;
    return d === null ? zs : (1 - w) * zs + w * ((d - zd.mu) / zd.sd);
  };
  const report = (rows: string[][], other: string[][]): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      e512: scoreRows(rows, cos512),
      dlibPlain: scoreRows(rows, cosDlib(false)),
      dlibFlip: scoreRows(rows, cosDlib(true)),
    };
    const own = { s: impostorStats(rows, cos512), d: impostorStats(rows, dl) };
    const oth = { s: impostorStats(other, cos512), d: impostorStats(other, dl) };
    out.impostorStats = { own, otherList: oth };
    for (const w of [0.2, 0.35, 0.5]) {
      out[`fuse${w}`] = scoreRows(rows, fuse(w));
      out[`zfuseOwn${w}`] = scoreRows(rows, fuse(w, own.s, own.d), -1e9);
      out[`zfuseOther${w}`] = scoreRows(rows, fuse(w, oth.s, oth.d), -1e9);
    }
    // Exploratory dlib scorers: alone, and z-fused with statistics from the other list.
    for (const [name, sc] of Object.entries({ dlibEuclid: euclid, dlibCentredCos: centredCos, dlibBlurSmall: blurCos })) {
      out[name] = scoreRows(rows, sc);
      const zo = impostorStats(other, sc);
      for (const w of [0.2, 0.35, 0.5]) out[`zfuseOther${w}_${name}`] = scoreRows(rows, fuse(w, oth.s, zo, sc), -1e9);
    }
    return out;
  };
  const ms = (k: string) => +median(cache.dlibMs[k] ?? []).toFixed(1);
  console.log(
    JSON.stringify(
      {
        images: files.length,
        noFace: files.filter((f) => !cache.items[f]!.det).length,
        detectorMsMedian: +median(cache.detMs).toFixed(1),
        dlibMsPerDescriptorMedian: Object.fromEntries(Object.keys(tpls).map((k) => [k, ms(k)])),
        chosen: best.key,
        cohortFaces: cache.cohort!.length,
        chipHelperMatchesDlib5: same,
        templateSelection: selection,
        pairsDegraded: report(degraded, all),
        pairsAll: report(all, degraded),
      },
      null,
      1,
    ),
  );
}

void main();
