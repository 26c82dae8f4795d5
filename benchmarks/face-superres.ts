// Does a super-resolution / restoration model in front of ArcFace alignment help small faces on
// ../shared/eval/faces/pairs-degraded.csv? Reuses the cached detections + shipped 512-d embeddings of
// /tmp/face-dlib-cache.json; only faces with interocular < 30 px are re-embedded, every other face keeps its cached e512.
// The TFJS models come from unpacked npm tarballs (not project dependencies), see --models.
// usage: node -r @swc-node/register benchmarks/face-superres.ts [--models /tmp/sr] [VARIANT...]
// Fetch the models from the npm registry without installing them into the project:
//   mkdir -p /tmp/sr && cd /tmp/sr && for p in esrgan-slim@1.0.0 esrgan-medium@1.0.0 esrgan-thick@1.0.0 \
//     maxim-denoising@0.1.0 maxim-enhancement@0.1.0; do npm pack @upscalerjs/$p; done
//   for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { FacepluginEmbedder } from '../src/face/faceplugin';
import { ARCFACE_112, similarityTransform } from '../src/kernels/geometry';
import { cropRgb, gaussianBlurRgb, warpAffineRgb } from '../src/kernels/image';
import { decodeImage } from '../src/media/image';
import { parseCsv } from '../src/eval/csv';
import { verificationMetrics } from '../src/eval/metrics';
import type { Box, FaceDetection, FivePoints, Point, RgbImage } from '../src/types';

const SMALL_IOD = 30;
const DLIB_CACHE = '/tmp/face-dlib-cache.json';
const SR_CACHE = '/tmp/face-sr-cache.json';

interface CachedItem { det: FaceDetection | null; e512: number[] | null }
interface Model { name: string; run: (x: tf.Tensor4D) => tf.Tensor4D; inputMax: number; divisible: number }

/** Model files of an unpacked `npm pack` tarball: a directory holding model.json and its shards. */
function diskHandler(modelJson: string): tf.io.IOHandler {
  return {
    load: async () => {
      const j = JSON.parse(fs.readFileSync(modelJson, 'utf8')) as {
        modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format?: string;
        generatedBy?: string; convertedBy?: string; signature?: object;
      };
      const bufs = j.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(modelJson), p))));
      const all = Buffer.concat(bufs);
      return {
        modelTopology: j.modelTopology, format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy ?? undefined,
        signature: j.signature, weightSpecs: j.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

/** The two custom Keras layers of the RRDN (esrgan-thick) models, as @upscalerjs/esrgan-* registers them. */
function registerRrdnLayers(scale: number): void {
  class MultiplyBeta extends tf.layers.Layer {
    static className = 'MultiplyBeta';
    constructor() { super({}); }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor { return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 0.2); }
  }
  class PixelShuffle extends tf.layers.Layer {
    static className = `PixelShuffle${scale}x`;
    constructor() { super({}); }
    override computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape { const a = s as tf.Shape; return [a[0]!, a[1]!, a[2]!, 3]; }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor { return tf.depthToSpace((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D, scale, 'NHWC'); }
  }
  tf.serialization.registerClass(MultiplyBeta);
  tf.serialization.registerClass(PixelShuffle);
}

let maximOpsRegistered = false;
/** MAXIM's graph uses ScaleAndTranslate, which tfjs lacks; @upscalerjs/maxim-* maps it to nearest resize. */
function registerMaximOps(): void {
  if (maximOpsRegistered) return;
  maximOpsRegistered = true;
  tf.registerOp('ScaleAndTranslate', (node) => {
    const [input, size] = node.inputs as [tf.Tensor4D, tf.Tensor1D];
    const [h, w] = Array.from(size.dataSync());
    return tf.image.resizeNearestNeighbor(input, [h!, w!]);
  });
}

async function loadModel(root: string, name: string): Promise<Model> {
  const [pkg, scale] = name.split(':') as [string, string | undefined];
  const dirs = fs.readdirSync(root).filter((d) => d.startsWith(`upscalerjs-${pkg}-`));
  if (!dirs.length) throw new Error(`no unpacked @upscalerjs/${pkg} under ${root}`);
  const pkgDir = path.join(root, dirs[0]!, 'package', 'models');
  if (pkg.startsWith('maxim')) {
    registerMaximOps();
    const m = await tf.loadGraphModel(diskHandler(path.join(pkgDir, 'model.json')));
    return { name, inputMax: 1, divisible: 64, run: (x) => m.execute(x) as tf.Tensor4D };
  }
  const s = Number(scale);
  if (pkg === 'esrgan-thick') registerRrdnLayers(s);
  const m = await tf.loadLayersModel(diskHandler(path.join(pkgDir, `x${s}`, 'model.json')));
  // esrgan.js in the packages: RDN (slim, medium) works on 0..255, RRDN (thick) on 0..1.
  return { name, inputMax: pkg === 'esrgan-thick' ? 1 : 255, divisible: 1, run: (x) => m.predict(x) as tf.Tensor4D };
}

/** Runs a model on an RGB image (padded by edge replication to the model's divisibility, then cropped back). */
function applyModel(m: Model, img: RgbImage): RgbImage {
  const out = tf.tidy(() => {
    let x = tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]).div(255 / m.inputMax) as tf.Tensor4D;
    const ph = (m.divisible - (img.height % m.divisible)) % m.divisible, pw = (m.divisible - (img.width % m.divisible)) % m.divisible;
    if (ph || pw) x = tf.mirrorPad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], 'symmetric');
    let y = m.run(x);
    const k = y.shape[1] / x.shape[1];
    if (ph || pw) y = y.slice([0, 0, 0, 0], [1, Math.round(img.height * k), Math.round(img.width * k), 3]);
    return y.mul(255 / m.inputMax).clipByValue(0, 255).round().cast('int32') as tf.Tensor4D;
  });
  const [, h, w] = out.shape;
  const data = Uint8Array.from(out.dataSync());
  out.dispose();
  return { width: w, height: h, data };
}

const iodOf = (l: readonly Point[]) => Math.hypot(l[1]![0] - l[0]![0], l[1]![1] - l[0]![1]);

/** The face box grown by half its size on every side (2x), clamped to the image. */
function faceRegion(b: Box, img: RgbImage): Box {
  const x0 = Math.max(0, Math.floor(b.x - b.w / 2)), y0 = Math.max(0, Math.floor(b.y - b.h / 2));
  const x1 = Math.min(img.width, Math.ceil(b.x + b.w * 1.5)), y1 = Math.min(img.height, Math.ceil(b.y + b.h * 1.5));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

interface Variant { chain: string[]; blur: boolean }
/** Decided before looking at any result: controls, ESRGAN x2/x4 of each size with and without blur, MAXIM first. */
const VARIANTS: Record<string, Variant> = {
  realign: { chain: [], blur: true }, // sanity: the shipped path recomputed here (blur applies since iod < 30)
  noblur: { chain: [], blur: false }, // control: same crop without the small-face blur
  'slim-x2': { chain: ['esrgan-slim:2'], blur: false },
  'slim-x4': { chain: ['esrgan-slim:4'], blur: false },
  'medium-x2': { chain: ['esrgan-medium:2'], blur: false },
  'medium-x4': { chain: ['esrgan-medium:4'], blur: false },
  'thick-x2': { chain: ['esrgan-thick:2'], blur: false },
  'thick-x4': { chain: ['esrgan-thick:4'], blur: false },
  'slim-x2+blur': { chain: ['esrgan-slim:2'], blur: true },
  'slim-x4+blur': { chain: ['esrgan-slim:4'], blur: true },
  'medium-x2+blur': { chain: ['esrgan-medium:2'], blur: true },
  'medium-x4+blur': { chain: ['esrgan-medium:4'], blur: true },
  'thick-x2+blur': { chain: ['esrgan-thick:2'], blur: true },
  'thick-x4+blur': { chain: ['esrgan-thick:4'], blur: true },
  'denoise+medium-x4': { chain: ['maxim-denoising', 'esrgan-medium:4'], blur: false },
  'enhance+medium-x4': { chain: ['maxim-enhancement', 'esrgan-medium:4'], blur: false },
};

/** Writes the (upscaled) region and the aligned crop as PNGs, to look at what the embedder is given. */
async function dumpPng(dir: string, stem: string, region: RgbImage, crop: RgbImage): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  for (const [tag, im] of [['region', region], ['crop', crop]] as const) {
    await sharp(Buffer.from(im.data), { raw: { width: im.width, height: im.height, channels: 3 } }).png().toFile(path.join(dir, `${stem}-${tag}.png`));
  }
}

async function main(): Promise<void> {
  const faces = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  const list = path.join(faces, 'pairs-degraded.csv');
  if (!fs.existsSync(list) || !fs.existsSync(DLIB_CACHE)) return console.log(JSON.stringify({ skipped: 'no eval data or detection cache' }));
  const args = process.argv.slice(2);
  const mi = args.indexOf('--models');
  const modelRoot = mi >= 0 ? args[mi + 1]! : '/tmp/sr';
  const di = args.indexOf('--dump');
  const dumpDir = di >= 0 ? args[di + 1] : undefined;
  const names = args.filter((a, i) => !a.startsWith('--') && (mi < 0 || i !== mi + 1) && (di < 0 || i !== di + 1));
  const rows = parseCsv(fs.readFileSync(list, 'utf8')).slice(1).filter((r) => r.length > 4);
  const items = (JSON.parse(fs.readFileSync(DLIB_CACHE, 'utf8')) as { items: Record<string, CachedItem> }).items;
  const cache: Record<string, Record<string, number[]>> = fs.existsSync(SR_CACHE) ? JSON.parse(fs.readFileSync(SR_CACHE, 'utf8')) : {};
  const small = Object.entries(items).filter(([, x]) => x.det && iodOf(x.det.landmarks) < SMALL_IOD).map(([f]) => f);

  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
  const scoreRows = (emb: (f: string) => ArrayLike<number> | null) => {
    const g: number[] = [], im: number[] = [], kinds: Record<string, number[]> = {};
    for (const r of rows) {
      const a = emb(r[0]!), b = emb(r[1]!);
      const s = a && b ? dot(a, b) : -1;
      if (r[2] === '1') (g.push(s), (kinds[r[4]!] ??= []).push(s));
      else im.push(s);
    }
    const m = verificationMetrics(g, im);
    const t = m.thresholdAtFar['1e-3']!;
    return {
      tarAtFar1e3: +m.tarAtFar['1e-3']!.toFixed(4), genuineAccepted: g.filter((s) => s >= t).length, genuine: g.length, threshold: +t.toFixed(4),
      byKind: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, +(v.filter((s) => s >= t).length / v.length).toFixed(3)])),
    };
  };
  const out: Record<string, unknown> = { smallFaces: small.length, shipped: scoreRows((f) => items[f]?.e512 ?? null) };

  const want = names.length ? names : Object.keys(VARIANTS);
  const needTf = want.some((n) => VARIANTS[n]?.chain.length && !cache[n]);
  if (needTf) {
    setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep);
    // SR_BACKEND=cpu: MAXIM's graph uses Einsum, which the wasm backend lacks; tfjs's plain-JS cpu backend has it.
    await tf.setBackend(process.env.SR_BACKEND ?? 'wasm');
    await tf.ready();
  }
  const models = new Map<string, Model>();
  const embedder = new FacepluginEmbedder({ flip: true });
  const images = new Map<string, RgbImage>();
  const ms: Record<string, number> = {};
  // SR_PROBE=N: only time the chain on the first N small faces (no scores, nothing cached), for models too slow to run.
  const probe = Number(process.env.SR_PROBE ?? 0);
  const restored = new Map<string, { img: RgbImage; ms: number }>();
  for (const name of want) {
    const v = VARIANTS[name];
    if (!v) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
    if (!cache[name]) {
      const chainKey = `${v.chain.join('>')}|`;
      for (const k of restored.keys()) if (!k.startsWith(chainKey)) restored.delete(k);
      const emb: Record<string, number[]> = {};
      let srMs = 0;
      for (const f of probe ? small.slice(0, probe) : small) {
        const det = items[f]!.det!;
        if (!images.has(f)) images.set(f, await decodeImage(path.join(faces, f)));
        const img = images.get(f)!;
        const reg = v.chain.length ? faceRegion(det.box, img) : { x: 0, y: 0, w: img.width, h: img.height };
        let region = v.chain.length ? cropRgb(img, reg.x, reg.y, reg.w, reg.h) : img;
        // Variants that differ only after the SR chain (+blur) reuse its output and its measured time.
        const key = `${v.chain.join('>')}|${f}`;
        let done = restored.get(key);
        if (!done) {
          const t0 = performance.now();
          for (const id of v.chain) {
            if (!models.has(id)) models.set(id, await loadModel(modelRoot, id));
            region = applyModel(models.get(id)!, region);
          }
          done = { img: region, ms: performance.now() - t0 };
          if (v.chain.length) restored.set(key, done);
        }
        region = done.img;
        srMs += done.ms;
        if (process.env.SR_PROGRESS && small.indexOf(f) % 20 === 0) console.error(`${name} ${small.indexOf(f)}/${small.length} ${done.ms.toFixed(0)} ms`);
        const k = region.width / reg.w;
        const lm = det.landmarks.map(([x, y]) => [(x - reg.x + 0.5) * k - 0.5, (y - reg.y + 0.5) * k - 0.5] as Point) as unknown as FivePoints;
        let crop = warpAffineRgb(region, similarityTransform(lm, ARCFACE_112), 112, 112);
        if (dumpDir && small.indexOf(f) < 4) await dumpPng(dumpDir, `${name}-${small.indexOf(f)}`, region, crop);
        if (v.blur && iodOf(lm) >= SMALL_IOD) crop = gaussianBlurRgb(crop, 1);
        // embedAligned blurs by itself when the (mapped) landmarks are under 30 px apart; pass them unchanged.
        const face: FaceDetection = { ...det, landmarks: v.blur ? lm : iodOf(lm) < SMALL_IOD ? (lm.map(([x, y]) => [x * 4, y * 4]) as unknown as FivePoints) : lm };
        const [e] = await embedder.embedAligned([crop], [face]);
        emb[f] = Array.from(e!, (x) => +x.toFixed(6));
      }
      if (probe) {
        out[name] = { probeFaces: probe, srMsPerFace: +(srMs / probe).toFixed(1) };
        continue;
      }
      ms[name] = +(srMs / small.length).toFixed(1);
      cache[name] = emb;
      cache[`${name}#ms`] = { srMsPerFace: [ms[name]!] };
      fs.writeFileSync(SR_CACHE, JSON.stringify(cache));
    }
    const emb = cache[name]!;
    out[name] = { ...scoreRows((f) => emb[f] ?? items[f]?.e512 ?? null), srMsPerFace: cache[`${name}#ms`]?.srMsPerFace?.[0] };
  }
  if (cache.realign) {
    const d = small.map((f) => dot(cache.realign![f]!, items[f]!.e512!));
    out.realignCosineToCachedMin = +Math.min(...d).toFixed(4);
  }
  console.log(JSON.stringify(out, null, 1));
}

void main();
