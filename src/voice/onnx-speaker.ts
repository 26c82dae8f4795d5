import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { LikenessError } from '../errors';
import { readOnnxMetadata } from '../models/onnx-meta';
import { ort, ortSessionFromFile } from '../models/ort';
import { resolveModelFile } from '../models/registry';
import { invalid } from '../validate';

/** A feature matrix: `frames` rows of `bins` values, row-major. */
export interface FeatureMatrix {
  frames: number;
  bins: number;
  data: Float32Array;
}

/** Which toolkit exported the model, as its `framework` metadata says. */
export type SpeakerFramework = 'wespeaker' | '3d-speaker' | 'nemo';

/** How features must be made and normalised for one model; derived from the model's own metadata. */
export interface SpeakerFeatureConfig {
  sampleRate: 16000;
  bins: number;
  frameLengthMs: number;
  frameShiftMs: number;
  windowType: string;
  /** True when the samples are scaled to the int16 range before the filterbank (sherpa-onnx `normalize_samples=0`). */
  int16Scale: boolean;
  /** Per-utterance normalisation applied to the feature matrix before the model. */
  normalize: 'none' | 'global-mean' | 'per-feature';
  removeDcOffset: boolean;
  lowFreq: number;
}

/** What the adapter learned from the ONNX file. */
export interface SpeakerModelInfo {
  framework: SpeakerFramework;
  outputDim: number;
  language?: string;
  comment?: string;
  url?: string;
  features: SpeakerFeatureConfig;
  /** Raw metadata_props, for display. */
  metadata: Record<string, string>;
}

/**
 * Interprets the metadata_props that sherpa-onnx's export scripts write into speaker models. The rules follow how
 * sherpa-onnx itself consumes them (general extractor: `normalize_samples`, `feature_normalize_type` = global-mean;
 * NeMo extractor: `feat_dim`, `window_size_ms`, `window_stride_ms`, `window_type`, per_feature normalisation).
 */
export function speakerModelInfo(meta: Record<string, string>, where: string): SpeakerModelInfo {
  const framework = meta.framework?.toLowerCase();
  if (framework !== 'wespeaker' && framework !== '3d-speaker' && framework !== 'nemo') {
    throw new LikenessError(
      'E_MODEL',
      `${where}: metadata "framework" is ${framework === undefined ? 'missing' : `"${framework}"`}; expected a speaker model exported for sherpa-onnx (wespeaker, 3d-speaker or nemo)`,
      { file: where },
    );
  }
  const sr = intMeta(meta, 'sample_rate', where);
  if (sr !== 16000) {
    throw new LikenessError('E_MODEL', `${where}: sample_rate ${sr} is not supported (audio is decoded at 16000 Hz)`, { file: where });
  }
  const outputDim = intMeta(meta, 'output_dim', where);
  const norm = meta.feature_normalize_type ?? '';
  // NeMo models were trained on librosa-style (Slaney) mel features; the Kaldi filterbank with NeMo's window settings
  // is the closest this library computes, so NeMo embeddings are an approximation until a librosa mel is added.
  const features: SpeakerFeatureConfig =
    framework === 'nemo'
      ? {
          sampleRate: 16000,
          bins: meta.feat_dim ? intMeta(meta, 'feat_dim', where) : 80,
          frameLengthMs: meta.window_size_ms ? intMeta(meta, 'window_size_ms', where) : 25,
          frameShiftMs: meta.window_stride_ms ? intMeta(meta, 'window_stride_ms', where) : 10,
          windowType: meta.window_type || 'povey',
          int16Scale: false,
          normalize: normalizeKind(norm, where),
          removeDcOffset: false,
          lowFreq: 0,
        }
      : {
          sampleRate: 16000,
          bins: 80,
          frameLengthMs: 25,
          frameShiftMs: 10,
          windowType: 'povey',
          // sherpa-onnx: normalize_samples=0 (WeSpeaker) means "multiply by 32768", the scale the model trained on.
          int16Scale: (meta.normalize_samples ?? '1') === '0',
          normalize: normalizeKind(norm, where),
          removeDcOffset: true,
          lowFreq: 20,
        };
  const info: SpeakerModelInfo = { framework, outputDim, features, metadata: { ...meta } };
  if (meta.language) info.language = meta.language;
  if (meta.comment) info.comment = meta.comment;
  if (meta.url) info.url = meta.url;
  return info;
}

function normalizeKind(v: string, where: string): SpeakerFeatureConfig['normalize'] {
  if (v === '') return 'none';
  if (v === 'global-mean') return 'global-mean';
  if (v === 'per_feature') return 'per-feature';
  throw new LikenessError('E_MODEL', `${where}: feature_normalize_type "${v}" is not supported`, { file: where });
}

function intMeta(meta: Record<string, string>, key: string, where: string): number {
  const v = Number(meta[key]);
  if (meta[key] === undefined || !Number.isInteger(v) || v <= 0) {
    throw new LikenessError('E_MODEL', `${where}: metadata "${key}" is ${meta[key] === undefined ? 'missing' : `"${meta[key]}"`}`, {
      file: where,
    });
  }
  return v;
}

/** Applies the model's per-utterance feature normalisation in place. */
export function normalizeFeatures(f: FeatureMatrix, kind: SpeakerFeatureConfig['normalize']): void {
  if (kind === 'none' || f.frames === 0) return;
  const { frames, bins, data } = f;
  const mean = new Float64Array(bins);
  for (let t = 0; t < frames; t++) for (let b = 0; b < bins; b++) mean[b]! += data[t * bins + b]!;
  for (let b = 0; b < bins; b++) mean[b]! /= frames;
  if (kind === 'global-mean') {
    for (let t = 0; t < frames; t++) for (let b = 0; b < bins; b++) data[t * bins + b]! -= mean[b]!;
    return;
  }
  // NeMo per_feature, as sherpa-onnx computes it: population std plus 1e-5.
  const sd = new Float64Array(bins);
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < bins; b++) {
      const d = data[t * bins + b]! - mean[b]!;
      sd[b]! += d * d;
    }
  }
  for (let b = 0; b < bins; b++) sd[b] = Math.sqrt(sd[b]! / frames) + 1e-5;
  for (let t = 0; t < frames; t++) for (let b = 0; b < bins; b++) data[t * bins + b] = (data[t * bins + b]! - mean[b]!) / sd[b]!;
}

/** Runs a sherpa-onnx style ONNX speaker model on feature matrices. */
export class OnnxSpeakerModel {
  /** Model id (manifest id, or the file path for models outside the manifest). */
  readonly id: string;
  /** What the model's metadata says. */
  readonly info: SpeakerModelInfo;
  private readonly session: InferenceSession;
  private readonly inputName: string;
  private readonly lengthName: string | undefined;
  private readonly outputName: string;

  private constructor(id: string, info: SpeakerModelInfo, session: InferenceSession) {
    this.id = id;
    this.info = info;
    this.session = session;
    this.inputName = session.inputNames[0]!;
    this.lengthName = info.framework === 'nemo' ? session.inputNames[1] : undefined;
    if (info.framework === 'nemo' && !this.lengthName) {
      throw new LikenessError('E_MODEL', `${id}: a NeMo speaker model needs a second (length) input`, { model: id });
    }
    // NeMo exports emit (logits, embeddings); the others emit the embedding only.
    this.outputName = info.framework === 'nemo' ? session.outputNames[session.outputNames.length - 1]! : session.outputNames[0]!;
  }

  /** Loads a model from a file, reading its metadata. */
  static async fromFile(file: string, id = file): Promise<OnnxSpeakerModel> {
    const info = speakerModelInfo(readOnnxMetadata(file), file);
    const session = await ortSessionFromFile(file);
    return new OnnxSpeakerModel(id, info, session);
  }

  /** Loads a manifest model by id (verified against its sha256 first). */
  static async fromManifest(id: string): Promise<OnnxSpeakerModel> {
    return OnnxSpeakerModel.fromFile(resolveModelFile(id), id);
  }

  /** Embedding dimension. */
  get dim(): number {
    return this.info.outputDim;
  }

  /**
   * The raw (not L2-normalised) embedding of one utterance's features. The matrix is normalised in place as the
   * model's metadata asks (pass a copy to keep it).
   */
  async embedFeatures(f: FeatureMatrix): Promise<Float32Array> {
    if (f.bins !== this.info.features.bins) {
      throw invalid(`${this.id} expects ${this.info.features.bins} feature bins, got ${f.bins}`);
    }
    if (f.frames < 1) throw new LikenessError('E_NO_SPEECH', `${this.id}: no feature frames to embed`);
    normalizeFeatures(f, this.info.features.normalize);
    const Tensor = ort().Tensor;
    const feeds: Record<string, Tensor> = {};
    if (this.lengthName) {
      feeds[this.inputName] = new Tensor('float32', transpose(f), [1, f.bins, f.frames]);
      feeds[this.lengthName] = new Tensor('int64', BigInt64Array.from([BigInt(f.frames)]), [1]);
    } else {
      feeds[this.inputName] = new Tensor('float32', f.data, [1, f.frames, f.bins]);
    }
    let out: InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds, [this.outputName]);
    } catch (e) {
      throw new LikenessError('E_MODEL', `${this.id}: inference failed: ${(e as Error).message}`, { model: this.id, reason: 'inference' });
    }
    const t = out[this.outputName] as Tensor;
    const v = t.data as Float32Array;
    if (v.length !== this.info.outputDim) {
      throw new LikenessError('E_MODEL', `${this.id}: output has ${v.length} values, metadata says ${this.info.outputDim}`, { model: this.id });
    }
    return Float32Array.from(v);
  }
}

function transpose(f: FeatureMatrix): Float32Array {
  const out = new Float32Array(f.data.length);
  for (let t = 0; t < f.frames; t++) for (let b = 0; b < f.bins; b++) out[b * f.frames + t] = f.data[t * f.bins + b]!;
  return out;
}
