// The embedding-step variants tried on ../shared/eval/faces/pairs-degraded.csv (RESULTS.md, "What was tried").
// Detections are made once per image; only the crop handed to the 512-d embedder (or the score) changes.
// `shipped` is not a copy: it is FaceAnalyzer.describe of the `accurate` preset (the code a scan runs), and
// `--detector shipped` detects with that preset's own detector, so the rows RESULTS.md labels "shipped" measure the
// shipped path; the other variants are experiments on the raw 512-d session.
// usage: node -r @swc-node/register benchmarks/face-variants.ts [--detector onnx|human|shipped] [VARIANT...]
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer } from '../src/face/analyzer';
import { FacepluginDetector } from '../src/face/faceplugin';
import { FallbackDetector } from '../src/face/fallback';
import { ARCFACE_112, largestFace, similarityTransform } from '../src/kernels/geometry';
import { HumanDetector, HumanFaceresEmbedder } from './human-peer';
import { gaussianBlurRgb, toGrey, toNchw, warpAffineRgb } from '../src/kernels/image';
import { decodeImage } from '../src/media/image';
import { parseCsv } from '../src/eval/csv';
import { verificationMetrics } from '../src/eval/metrics';
import { ort, ortSession } from '../src/models/ort';
import type { FaceDetection, Point, RgbImage } from '../src/types';
import { normaliseInPlace } from '../src/kernels/vector';

interface Item { img: RgbImage; d: FaceDetection; iod: number }
type Variant = (x: Item) => RgbImage[];

function align(x: Item, dx = 0, dy = 0, scale = 1): RgbImage {
  const tpl = ARCFACE_112.map(([px, py]) => [(px - 56) * scale + 56 + dx, (py - 56) * scale + 56 + dy] as Point);
  return warpAffineRgb(x.img, similarityTransform(x.d.landmarks, tpl), 112, 112);
}
const blurSmall = (c: RgbImage, iod: number) => (iod < 30 ? gaussianBlurRgb(c, 1) : c);

function stretch(c: RgbImage): RgbImage {
  const g = Array.from(toGrey(c)).sort((a, b) => a - b);
  const lo = g[Math.floor(g.length * 0.02)]!, hi = g[Math.floor(g.length * 0.98)]!;
  if (hi - lo < 10) return c;
  const k = 230 / (hi - lo);
  return { ...c, data: c.data.map((v) => Math.max(0, Math.min(255, Math.round((v - lo) * k + 12)))) };
}

function grey(c: RgbImage): RgbImage {
  const g = toGrey(c);
  const data = new Uint8Array(c.data.length);
  g.forEach((v, i) => data.fill(Math.round(v), i * 3, i * 3 + 3));
  return { ...c, data };
}

const VARIANTS: Record<string, Variant> = {
  plain: (x) => [align(x)],
  blurSmall: (x) => [blurSmall(align(x), x.iod)],
  stretch: (x) => [stretch(align(x))],
  blurAll: (x) => [gaussianBlurRgb(align(x), 0.8)],
  grey: (x) => [grey(align(x))],
  tta5: (x) => ([[0, 0, 1], [2, 0, 1], [-2, 0, 1], [0, 2, 1], [0, 0, 0.92]] as const).map(([dx, dy, s]) => blurSmall(align(x, dx, dy, s), x.iod)),
  scale09: (x) => [blurSmall(align(x, 0, 0, 0.9), x.iod)],
};

async function embedMean(crops: RgbImage[]): Promise<Float32Array> {
  const s = await ortSession('faceplugin-mfn512');
  const T = ort().Tensor;
  const acc = new Float32Array(512);
  for (const c of crops) {
    for (const flip of [false, true]) {
      const input = new Float32Array(3 * 112 * 112);
      toNchw(c, 127, 128, input, 0, flip);
      const r = await s.run({ input: new T('float32', input, [1, 3, 112, 112]) });
      const v = normaliseInPlace(Float32Array.from(r.output!.data as Float32Array));
      v.forEach((e, i) => (acc[i]! += e));
    }
  }
  return normaliseInPlace(acc);
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  const list = path.join(root, 'pairs-degraded.csv');
  if (!fs.existsSync(list)) return console.log(JSON.stringify({ skipped: 'no ../shared/eval/faces' }));
  const args = process.argv.slice(2);
  const di = args.indexOf('--detector');
  const detName = di >= 0 ? args[di + 1]! : 'onnx';
  const useHuman = detName === 'human';
  const analyzer = await FaceAnalyzer.create({ preset: 'accurate' });
  const names = args.filter((a, i) => !a.startsWith('--') && (di < 0 || i !== di + 1));
  const rows = parseCsv(fs.readFileSync(list, 'utf8')).slice(1).filter((r) => r.length > 4);
  const det = detName === 'shipped' ? analyzer : useHuman ? new FallbackDetector([new HumanDetector(), new FacepluginDetector()]) : new FacepluginDetector();
  const items = new Map<string, Item | null>();
  for (const f of new Set(rows.flatMap((r) => [r[0]!, r[1]!]))) {
    const img = await decodeImage(path.join(root, f));
    const d = largestFace(await det.detect(img));
    items.set(f, d ? { img, d, iod: Math.hypot(d.landmarks[1][0] - d.landmarks[0][0], d.landmarks[1][1] - d.landmarks[0][1]) } : null);
  }
  // Score-level variants on top of blurSmall: fusion with Human's faceres and mean-only cohort normalisation.
  const faceres = new Map<string, Float32Array | null>();
  const cohort: Float32Array[] = [];
  if (useHuman && (names.length === 0 || names.some((n) => n.startsWith('fuse') || n === 'cohort'))) {
    const fr = new HumanFaceresEmbedder();
    for (const [f, x] of items) faceres.set(f, x ? (await fr.embed(x.img, [x.d]).catch(() => [null]))[0]! : null);
    const samples = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
    for (let n = 1; n <= 6; n++) {
      const img = await decodeImage(path.join(samples, `sample${n}.jpg`));
      for (const d of await det.detect(img)) cohort.push(await embedMean(VARIANTS.blurSmall!({ img, d, iod: 99 })));
    }
  }
  const out: Record<string, unknown> = {};
  const scoreRows = (emb: Map<string, Float32Array | null>, score: (a: string, b: string, s: number) => number) => {
    const g: number[] = [], im: number[] = [], kinds: Record<string, number[]> = {};
    for (const r of rows) {
      const a = emb.get(r[0]!), b = emb.get(r[1]!);
      const s = a && b ? score(r[0]!, r[1]!, dot(a, b)) : -1;
      if (r[2] === '1') (g.push(s), (kinds[r[4]!] ??= []).push(s));
      else im.push(s);
    }
    const m = verificationMetrics(g, im);
    const t = m.thresholdAtFar['1e-3']!;
    return { tarAtFar1e3: m.tarAtFar['1e-3'], byKind: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(v.filter((s) => s >= t).length / v.length).toFixed(3)])) };
  };
  const want = (n: string) => names.length === 0 || names.includes(n);
  let blurEmb: Map<string, Float32Array | null> | undefined;
  for (const [name, v] of Object.entries(VARIANTS)) {
    if (!want(name) && !(name === 'blurSmall' && (faceres.size || cohort.length))) continue;
    const emb = new Map<string, Float32Array | null>();
    for (const [f, x] of items) emb.set(f, x ? await embedMean(v(x)) : null);
    if (name === 'blurSmall') blurEmb = emb;
    if (want(name)) out[name] = scoreRows(emb, (_a, _b, s) => s);
  }
  if (want('shipped')) {
    const emb = new Map<string, Float32Array | null>();
    for (const [f, x] of items) emb.set(f, x ? (await analyzer.describe(x.img, [x.d]))[0]?.embedding ?? null : null);
    out.shipped = scoreRows(emb, (_a, _b, s) => s);
  }
  if (blurEmb && faceres.size) {
    for (const w of [0.2, 0.35, 0.5]) {
      if (!want(`fuse${w}`) && names.length) continue;
      out[`fuse${w}`] = scoreRows(blurEmb, (a, b, s) => {
        const fa = faceres.get(a), fb = faceres.get(b);
        return fa && fb ? (1 - w) * s + w * dot(fa, fb) : s;
      });
    }
  }
  if (blurEmb && cohort.length && want('cohort')) {
    const mean = (e: Float32Array) => cohort.reduce((s, c) => s + dot(c, e), 0) / cohort.length;
    const mu = new Map(Array.from(blurEmb, ([f, e]) => [f, e ? mean(e) : 0]));
    out.cohort = scoreRows(blurEmb, (a, b, s) => s - 0.5 * (mu.get(a)! + mu.get(b)!));
  }
  console.log(JSON.stringify({ detector: detName === 'human' ? 'human+onnx' : detName, variants: out }, null, 1));
}

void main();
