import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tinySpeakerModel } from '../../test/helpers/tiny-speaker-onnx';
import { readOnnxMetadata } from '../models/onnx-meta';
import { FeatureMatrix, OnnxSpeakerModel, normalizeFeatures, speakerModelInfo } from './onnx-speaker';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-spk-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

const DIM = 16;
const r = rng(7);
const W = Float32Array.from({ length: 80 * DIM }, r);

function features(frames: number): FeatureMatrix {
  const g = rng(frames);
  return { frames, bins: 80, data: Float32Array.from({ length: frames * 80 }, () => 3 + 2 * g()) };
}

/** What the tiny model computes: mean over time of x*x + x, times W. */
function expected(f: FeatureMatrix): Float32Array {
  const pooled = new Float64Array(80);
  for (let t = 0; t < f.frames; t++) {
    for (let b = 0; b < 80; b++) {
      const x = f.data[t * 80 + b]!;
      pooled[b]! += (x * x + x) / f.frames;
    }
  }
  const out = new Float32Array(DIM);
  for (let d = 0; d < DIM; d++) for (let b = 0; b < 80; b++) out[d]! += pooled[b]! * W[b * DIM + d]!;
  return out;
}

function write(name: string, flavour: 'general' | 'nemo', metadata: Record<string, string>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, tinySpeakerModel({ flavour, dim: DIM, weights: W, metadata }));
  return file;
}

const campMeta = {
  framework: '3d-speaker',
  sample_rate: '16000',
  output_dim: String(DIM),
  normalize_samples: '1',
  feature_normalize_type: 'global-mean',
  language: 'English',
  comment: 'tiny test model',
  url: 'https://example.invalid/model',
};

test('reads metadata_props written like the sherpa-onnx exports', () => {
  const file = write('camp.onnx', 'general', campMeta);
  expect(readOnnxMetadata(file)).toEqual(campMeta);
  const info = speakerModelInfo(readOnnxMetadata(file), file);
  expect(info).toMatchObject({ framework: '3d-speaker', outputDim: DIM, language: 'English' });
  expect(info.features).toMatchObject({ int16Scale: false, normalize: 'global-mean', windowType: 'povey' });
  const we = speakerModelInfo({ ...campMeta, framework: 'wespeaker', normalize_samples: '0', feature_normalize_type: '' }, 'x');
  expect(we.features).toMatchObject({ int16Scale: true, normalize: 'none' });
});

test.each([
  ['3d-speaker', 'general', 'global-mean'],
  ['wespeaker', 'general', ''],
  ['nemo', 'nemo', 'per_feature'],
] as const)('%s model: features normalised and laid out as its metadata says', async (framework, flavour, norm) => {
  const meta: Record<string, string> = { ...campMeta, framework, feature_normalize_type: norm };
  if (framework === 'nemo') Object.assign(meta, { feat_dim: '80', window_size_ms: '25', window_stride_ms: '10', window_type: 'hann' });
  const model = await OnnxSpeakerModel.fromFile(write(`${framework}.onnx`, flavour, meta));
  expect(model.dim).toBe(DIM);
  const f = features(57);
  const ref = { ...f, data: Float32Array.from(f.data) };
  normalizeFeatures(ref, model.info.features.normalize);
  const got = await model.embedFeatures(f);
  const want = expected(ref);
  for (let d = 0; d < DIM; d++) expect(got[d]).toBeCloseTo(want[d]!, 3);
  // Normalisation really changed what the model saw (the raw features would give another vector).
  if (norm !== '') expect(Math.abs(expected(features(57))[0]! - got[0]!)).toBeGreaterThan(1e-2);
});

test('bad models and inputs give E_MODEL / E_INPUT', async () => {
  const noMeta = write('nometa.onnx', 'general', {});
  await expect(OnnxSpeakerModel.fromFile(noMeta)).rejects.toMatchObject({ code: 'E_MODEL', message: expect.stringMatching(/framework/) });
  const sr8k = write('8k.onnx', 'general', { ...campMeta, sample_rate: '8000' });
  await expect(OnnxSpeakerModel.fromFile(sr8k)).rejects.toMatchObject({ code: 'E_MODEL' });
  const junk = path.join(dir, 'junk.onnx');
  fs.writeFileSync(junk, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]));
  expect(() => readOnnxMetadata(junk)).toThrow(expect.objectContaining({ code: 'E_MODEL' }));
  const model = await OnnxSpeakerModel.fromFile(write('ok.onnx', 'general', campMeta));
  await expect(model.embedFeatures({ frames: 3, bins: 40, data: new Float32Array(120) })).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(model.embedFeatures({ frames: 0, bins: 80, data: new Float32Array(0) })).rejects.toMatchObject({ code: 'E_NO_SPEECH' });
});
