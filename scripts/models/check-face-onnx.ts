/**
 * Checks the ONNX conversions of BlazeFace and FaceMesh (scripts/models/convert_face_tfjs.py) against the TFJS
 * originals in @vladmandic/human@3.3.6: the same input tensors go through tfjs (wasm backend, as Human runs them)
 * and through onnxruntime-node, and every raw output is compared.
 *
 * Inputs, all from npm packages (never from ../shared): the six face-api demo photos (MIT) and Human's own JPEG
 * assets (MIT). BlazeFace gets each photo resized to 256x256 and scaled to [-1, 1] exactly as Human does it; FaceMesh
 * gets the rotation-corrected 192x192 face crops Human itself cut from those photos (`detector.return`), i.e. the
 * very tensors the TFJS FaceMesh saw inside Human.
 *
 * Usage: node -r @swc-node/register scripts/models/check-face-onnx.ts [--report FILE] [--json]
 * Writes scripts/models/reports/face-onnx-check.json; exits 1 when a difference exceeds the tolerance below.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as tfCore from '@tensorflow/tfjs-core';
import type * as tfConverter from '@tensorflow/tfjs-converter';
import type { Config, Human } from '@vladmandic/human';
import { humanConfig } from '../../benchmarks/human-peer';
import { decodeImage } from '../../src/media/image';
import { ort, ortSessionFromFile } from '../../src/models/ort';
import { resolveModelFile } from '../../src/models/registry';
import type { RgbImage } from '../../src/types';

type Tf = typeof tfCore;
type GraphModel = tfConverter.GraphModel;

const ROOT = path.resolve(__dirname, '..', '..');
const REPORT = path.join(ROOT, 'scripts', 'models', 'reports', 'face-onnx-check.json');

/**
 * Pass limits. The two runtimes sum in different orders (and the wasm backend uses XNNPACK), so outputs agree to
 * float32 rounding of activations, not bit for bit. In pixels these are far below what the pipeline resolves
 * (Human truncates mesh points to whole pixels).
 */
const TOLERANCE = {
  /**
   * BlazeFace score logits, relative to max(1, |TFJS value|): background anchors have logits in the thousands,
   * where float32 itself resolves only ~1e-3.
   */
  blazefaceLogitRelative: 1e-4,
  /** BlazeFace box and key-point regressors, in 256 px input pixels. */
  blazefaceBoxPx: 5e-3,
  /** BlazeFace score after the sigmoid (what the pipeline thresholds). */
  blazefaceProbability: 1e-5,
  /** FaceMesh points in 192 px crop units. */
  mesh: 2e-3,
  /** FaceMesh face-presence probability. */
  faceflag: 1e-4,
};

interface Diff {
  maxAbs: number;
  /** Largest |difference| / max(1, |TFJS value|). */
  maxRel: number;
  meanAbs: number;
  /** Largest magnitude in the TFJS output, for scale. */
  refMaxAbs: number;
  values: number;
}

function diff(ref: Float32Array, got: Float32Array): Diff {
  if (ref.length !== got.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let maxAbs = 0, maxRel = 0, sum = 0, refMaxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i]! - got[i]!);
    if (d > maxAbs) maxAbs = d;
    maxRel = Math.max(maxRel, d / Math.max(1, Math.abs(ref[i]!)));
    sum += d;
    refMaxAbs = Math.max(refMaxAbs, Math.abs(ref[i]!));
  }
  return { maxAbs, maxRel, meanAbs: sum / ref.length, refMaxAbs, values: ref.length };
}

function merge(a: Diff | undefined, b: Diff): Diff {
  if (!a) return b;
  const n = a.values + b.values;
  return { maxAbs: Math.max(a.maxAbs, b.maxAbs), maxRel: Math.max(a.maxRel, b.maxRel), meanAbs: (a.meanAbs * a.values + b.meanAbs * b.values) / n, refMaxAbs: Math.max(a.refMaxAbs, b.refMaxAbs), values: n };
}

function samplePhotos(): string[] {
  const faceApiDemo = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  const humanAssets = path.join(ROOT, 'node_modules', '@vladmandic', 'human', 'assets');
  const list = (dir: string, re: RegExp): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => path.join(dir, f)) : []);
  return [...list(faceApiDemo, /^sample\d+\.jpg$/), ...list(humanAssets, /\.jpg$/)];
}

/** tfjs graph model from a model.json on disk (tfjs has no file loader without tfjs-node). */
async function loadGraphModel(tf: Tf, converter: typeof tfConverter, jsonFile: string): Promise<GraphModel> {
  const json = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as tfCore.io.ModelJSON;
  const dir = path.dirname(jsonFile);
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs = manifest.flatMap((g) => g.weights);
    const all = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
    return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
  });
  return converter.loadGraphModel(tf.io.fromMemory(artifacts));
}

/** Serves Human's file:// model URLs (the same models, verified against the manifest). */
function registerDiskRouter(tf: Tf, files: string[]): void {
  const allowed = new Set(files);
  const router = (url: string | string[]): tfCore.io.IOHandler | null => {
    const u = Array.isArray(url) ? url[0] : url;
    if (typeof u !== 'string' || !u.startsWith('file://') || !allowed.has(u.slice(7))) return null;
    const file = u.slice(7);
    return {
      load: async () => {
        const json = JSON.parse(fs.readFileSync(file, 'utf8')) as tfCore.io.ModelJSON;
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs = manifest.flatMap((g) => g.weights);
          const all = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p)))));
          return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
        });
      },
    };
  };
  tf.io.registerLoadRouter(router as Parameters<Tf['io']['registerLoadRouter']>[0]);
}

/** NHWC float32 -> NCHW (the ONNX models take NCHW). */
function toNchw(nhwc: Float32Array, n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[b * 3 * plane + c * plane + p] = nhwc[(b * plane + p) * 3 + c]!;
    }
  }
  return out;
}

function imageTensor(tf: Tf, img: RgbImage): tfCore.Tensor4D {
  return tf.tensor4d(new Float32Array(img.data), [1, img.height, img.width, 3], 'float32');
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const reportFile = args.includes('--report') ? path.resolve(args[args.indexOf('--report') + 1]!) : REPORT;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs-core') as Tf;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const converter = require('@tensorflow/tfjs-converter') as typeof tfConverter;
  const humanDir = path.join(ROOT, 'node_modules', '@vladmandic', 'human');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Human: HumanClass } = require(path.join(humanDir, 'dist', 'human.node-wasm.js')) as { Human: new (c: Partial<Config>) => Human };
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  const files = { detector: resolveModelFile('human-blazeface'), mesh: resolveModelFile('human-facemesh'), description: resolveModelFile('human-faceres') };
  const config = humanConfig(files, wasmDir);
  // Keep each face's crop tensor (what FaceMesh saw) in the result; no description needed.
  config.face!.detector!.return = true;
  config.face!.description!.enabled = false;
  const human = new HumanClass(config);
  registerDiskRouter(tf, Object.values(files));
  const quiet = console.log;
  console.log = () => undefined;
  await human.init();
  await human.load();
  console.log = quiet;
  if (tf.getBackend() !== 'wasm') throw new Error(`tfjs backend is ${tf.getBackend()}, expected wasm`);

  const tfBlaze = await loadGraphModel(tf, converter, files.detector);
  const tfMesh = await loadGraphModel(tf, converter, files.mesh);
  const onnxBlazeFile = resolveModelFile('mediapipe-blazeface-back');
  const onnxMeshFile = resolveModelFile('mediapipe-facemesh');
  const onnxBlaze = await ortSessionFromFile(onnxBlazeFile);
  const onnxMesh = await ortSessionFromFile(onnxMeshFile);
  const T = ort().Tensor;

  const photos = samplePhotos();
  if (photos.length === 0) throw new Error('no sample photos: run npm ci (devDependency @vladmandic/face-api)');
  const blazeOut: Record<string, Diff | undefined> = {};
  let blazeScoreProb: number | undefined;
  const meshOut: Record<string, Diff | undefined> = {};
  const perPhoto: { photo: string; width: number; height: number; faces: number; blazeMaxAbs: number; meshMaxAbs: number }[] = [];
  // TFJS output tensor -> ONNX output name.
  const blazeNames: Record<string, string> = { 'Identity:0': 'scores_512', 'Identity_1:0': 'scores_384', 'Identity_2:0': 'boxes_512', 'Identity_3:0': 'boxes_384' };
  const meshNames: Record<string, string> = { 'Identity_2:0': 'mesh', 'Identity_1:0': 'faceflag', 'Identity:0': 'contours' };

  for (const photo of photos) {
    const img = await decodeImage(photo);
    const input = imageTensor(tf, img);
    // Human's BlazeFace input: bilinear resize of the whole image to 256x256, then x / 127.5 - 1.
    const norm = tf.tidy(() => tf.sub(tf.div(tf.image.resizeBilinear(input, [256, 256]), 127.5), 1)) as tfCore.Tensor4D;
    const normData = (await norm.data()) as Float32Array;
    const tfRes = tfBlaze.execute(norm, Object.keys(blazeNames)) as tfCore.Tensor[];
    const onnxRes = await onnxBlaze.run({ input: new T('float32', toNchw(normData, 1, 256, 256), [1, 3, 256, 256]) });
    let photoBlaze = 0;
    for (const [i, name] of Object.keys(blazeNames).entries()) {
      const ref = (await tfRes[i]!.data()) as Float32Array;
      const got = onnxRes[blazeNames[name]!]!.data as Float32Array;
      const d = diff(ref, got);
      blazeOut[blazeNames[name]!] = merge(blazeOut[blazeNames[name]!], d);
      photoBlaze = Math.max(photoBlaze, d.maxAbs);
      if (name === 'Identity:0' || name === 'Identity_1:0') {
        const p = diff(Float32Array.from(ref, sigmoid), Float32Array.from(got, sigmoid));
        blazeScoreProb = Math.max(blazeScoreProb ?? 0, p.maxAbs);
      }
    }
    tf.dispose([norm, ...tfRes]);

    // The face crops Human cut for FaceMesh (192x192x3 in [0, 1]), through both runtimes.
    const res = await human.detect(input as never);
    let photoMesh = 0;
    for (const face of res.face) {
      // Human squeezes the returned crop to [192, 192, 3]; the models take a batch.
      if (!face.tensor) continue;
      const crop = tf.expandDims(face.tensor as tfCore.Tensor3D, 0) as tfCore.Tensor4D;
      tf.dispose(face.tensor);
      const cropData = (await crop.data()) as Float32Array;
      const tfMeshRes = tfMesh.execute(crop, Object.keys(meshNames)) as tfCore.Tensor[];
      const onnxMeshRes = await onnxMesh.run({ input: new T('float32', toNchw(cropData, 1, 192, 192), [1, 3, 192, 192]) });
      for (const [i, name] of Object.keys(meshNames).entries()) {
        const d = diff((await tfMeshRes[i]!.data()) as Float32Array, onnxMeshRes[meshNames[name]!]!.data as Float32Array);
        meshOut[meshNames[name]!] = merge(meshOut[meshNames[name]!], d);
        if (name !== 'Identity:0') photoMesh = Math.max(photoMesh, d.maxAbs);
      }
      tf.dispose([crop, ...tfMeshRes]);
    }
    tf.dispose(input);
    perPhoto.push({ photo: path.relative(ROOT, photo), width: img.width, height: img.height, faces: res.face.length, blazeMaxAbs: photoBlaze, meshMaxAbs: photoMesh });
  }

  const maxOf = (ds: (Diff | undefined)[], k: 'maxAbs' | 'maxRel'): number => Math.max(...ds.map((d) => d?.[k] ?? Infinity));
  const checks = {
    blazefaceLogitsWithin: maxOf([blazeOut.scores_512, blazeOut.scores_384], 'maxRel') <= TOLERANCE.blazefaceLogitRelative,
    blazefaceBoxesWithin: maxOf([blazeOut.boxes_512, blazeOut.boxes_384], 'maxAbs') <= TOLERANCE.blazefaceBoxPx,
    blazefaceProbabilityWithin: (blazeScoreProb ?? Infinity) <= TOLERANCE.blazefaceProbability,
    meshPointsWithin: (meshOut.mesh?.maxAbs ?? Infinity) <= TOLERANCE.mesh,
    faceflagWithin: (meshOut.faceflag?.maxAbs ?? Infinity) <= TOLERANCE.faceflag,
  };
  const report = {
    command: 'node -r @swc-node/register scripts/models/check-face-onnx.ts',
    date: new Date().toISOString(),
    runtimes: {
      tfjs: `@tensorflow/tfjs-core ${tf.version_core} on ${tf.getBackend()}`,
      onnxruntime: `onnxruntime-node ${ort().env.versions.node ?? ''}`.trim(),
    },
    models: {
      'mediapipe-blazeface-back': { onnx: path.relative(ROOT, onnxBlazeFile), tfjs: path.relative(ROOT, files.detector) },
      'mediapipe-facemesh': { onnx: path.relative(ROOT, onnxMeshFile), tfjs: path.relative(ROOT, files.mesh) },
    },
    tolerance: TOLERANCE,
    photos: perPhoto.length,
    faceCrops: perPhoto.reduce((s, p) => s + p.faces, 0),
    blazeface: { outputs: blazeOut, scoreProbabilityMaxAbs: blazeScoreProb },
    facemesh: { outputs: meshOut },
    perPhoto,
    checks,
    pass: Object.values(checks).every(Boolean),
  };
  fs.mkdirSync(path.dirname(reportFile), { recursive: true });
  fs.writeFileSync(reportFile, JSON.stringify(report, null, 2) + '\n');
  if (args.includes('--json')) console.log(JSON.stringify(report, null, 2));
  else {
    const fmt = (d: Diff | undefined): string => (d ? `max ${d.maxAbs.toExponential(2)} (relative ${d.maxRel.toExponential(2)}) mean ${d.meanAbs.toExponential(2)} (|ref| <= ${d.refMaxAbs.toFixed(1)})` : 'n/a');
    console.log(`${report.photos} photos, ${report.faceCrops} face crops`);
    for (const [k, d] of Object.entries(blazeOut)) console.log(`blazeface ${k}: ${fmt(d)}`);
    console.log(`blazeface score probability: max ${blazeScoreProb?.toExponential(2)}`);
    for (const [k, d] of Object.entries(meshOut)) console.log(`facemesh ${k}: ${fmt(d)}`);
    console.log(`${report.pass ? 'PASS' : 'FAIL'} ${JSON.stringify(checks)} -> ${path.relative(ROOT, reportFile)}`);
  }
  if (!report.pass) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
