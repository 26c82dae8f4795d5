import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { LikenessError } from '../errors';
import { melPowerSpectrogram } from '../kernels/mel';
import { readOnnxMetadata } from '../models/onnx-meta';
import { ort, ortSessionFromFile } from '../models/ort';
import { resolveModelFile } from '../models/registry';
import { float32 } from '../validate';

// Resemblyzer's GE2E voice encoder (3-layer LSTM, 256-d) with its own front end, step for step as
// VoiceEncoder.embed_utterance runs it on a preprocessed waveform: volume raised to -30 dBFS (never lowered), the
// utterance cut into 160-frame (1.6 s) partials at 1.3 per second (the last one kept when it is at least 75% covered,
// the waveform zero-padded to its end), a 40-band mel power spectrogram (src/kernels/mel.ts), one encoder pass per
// partial, and the mean of the partial embeddings. Resemblyzer's webrtcvad silence trimming is replaced by the
// library's own speech detection, which chooses the samples before they get here.

const SAMPLES_PER_FRAME = 160;
const PARTIAL_FRAMES = 160;
const RATE = 1.3;
const MIN_COVERAGE = 0.75;
const TARGET_DBFS = -30;
const INT16_MAX = 32767;

/** Which partials (mel frame ranges [from, from + 160)) `VoiceEncoder.compute_partial_slices(n, 1.3, 0.75)` takes. */
export function resemblyzerPartials(nSamples: number): number[] {
  const nFrames = Math.ceil((nSamples + 1) / SAMPLES_PER_FRAME);
  const step = Math.round(16000 / RATE / SAMPLES_PER_FRAME);
  const steps = Math.max(1, nFrames - PARTIAL_FRAMES + step + 1);
  const starts: number[] = [];
  for (let i = 0; i < steps; i += step) starts.push(i);
  const last = starts[starts.length - 1]! * SAMPLES_PER_FRAME;
  const coverage = (nSamples - last) / (PARTIAL_FRAMES * SAMPLES_PER_FRAME);
  if (coverage < MIN_COVERAGE && starts.length > 1) starts.pop();
  return starts;
}

/** `resemblyzer.audio.normalize_volume(wav, -30, increase_only=True)` (a silent signal is returned as is). */
export function resemblyzerVolume(x: Float32Array): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i]! * INT16_MAX) ** 2;
  const rms = Math.sqrt(ss / Math.max(1, x.length));
  if (rms === 0) return x;
  const change = TARGET_DBFS - 20 * Math.log10(rms / INT16_MAX);
  if (change < 0) return x;
  const g = 10 ** (change / 20);
  return Float32Array.from(x, (v) => v * g);
}

/** The converted Resemblyzer encoder (models/resemblyzer-ge2e), input `x` [N, T, 40] mel power, output [N, 256]. */
export class ResemblyzerModel {
  /** Model id. */
  readonly id: string;
  /** Embedding dimension (256). */
  readonly dim: number;
  private readonly session: InferenceSession;

  private constructor(id: string, dim: number, session: InferenceSession) {
    this.id = id;
    this.dim = dim;
    this.session = session;
  }

  /** True when an ONNX file's metadata says it is a Resemblyzer encoder. */
  static isResemblyzer(meta: Record<string, string>): boolean {
    return meta.framework === 'resemblyzer';
  }

  /** Loads the encoder from a file carrying `framework=resemblyzer` metadata. */
  static async fromFile(file: string, id = file): Promise<ResemblyzerModel> {
    const meta = readOnnxMetadata(file);
    if (!ResemblyzerModel.isResemblyzer(meta) || meta.feat_dim !== '40' || meta.partial_frames !== '160' || meta.sample_rate !== '16000') {
      throw new LikenessError('E_MODEL', `${file}: not a Resemblyzer encoder export (framework, feat_dim 40, partial_frames 160, sample_rate 16000)`, { file });
    }
    const dim = Number(meta.output_dim);
    if (!Number.isInteger(dim) || dim <= 0) throw new LikenessError('E_MODEL', `${file}: metadata "output_dim" is missing`, { file });
    return new ResemblyzerModel(id, dim, await ortSessionFromFile(file));
  }

  /** Loads a manifest model by id (verified against its sha256 first). */
  static async fromManifest(id: string): Promise<ResemblyzerModel> {
    return ResemblyzerModel.fromFile(resolveModelFile(id), id);
  }

  /** The mean of the partial embeddings of one utterance (not L2-normalised). E_NO_SPEECH for an empty signal. */
  async embedSamples(samples: Float32Array): Promise<Float32Array> {
    float32('samples', samples, { finite: true });
    if (samples.length < SAMPLES_PER_FRAME) throw new LikenessError('E_NO_SPEECH', `${this.id}: no samples to embed`);
    const starts = resemblyzerPartials(samples.length);
    const end = (starts[starts.length - 1]! + PARTIAL_FRAMES) * SAMPLES_PER_FRAME;
    let wav = resemblyzerVolume(samples);
    if (end >= wav.length) {
      const padded = new Float32Array(end);
      padded.set(wav);
      wav = padded;
    }
    const mel = melPowerSpectrogram(wav);
    const batch = new Float32Array(starts.length * PARTIAL_FRAMES * 40);
    starts.forEach((s, i) => batch.set(mel.data.subarray(s * 40, (s + PARTIAL_FRAMES) * 40), i * PARTIAL_FRAMES * 40));
    const Tensor = ort().Tensor;
    let out: InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run({ [this.session.inputNames[0]!]: new Tensor('float32', batch, [starts.length, PARTIAL_FRAMES, 40]) });
    } catch (e) {
      throw new LikenessError('E_MODEL', `${this.id}: inference failed: ${(e as Error).message}`, { model: this.id, reason: 'inference' });
    }
    const v = (out[this.session.outputNames[0]!] as Tensor).data as Float32Array;
    if (v.length !== starts.length * this.dim) {
      throw new LikenessError('E_MODEL', `${this.id}: output has ${v.length} values, expected ${starts.length * this.dim}`, { model: this.id });
    }
    const mean = new Float32Array(this.dim);
    for (let i = 0; i < starts.length; i++) for (let d = 0; d < this.dim; d++) mean[d]! += v[i * this.dim + d]! / starts.length;
    return mean;
  }
}
