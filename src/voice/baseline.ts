import { LikenessError } from '../errors';
import { computeFbank } from '../kernels/fbank';
import { fbank, type Fbank, type FbankOptions } from '../kernels/fbank';
import type { SpeechSegment } from './vad';

// The weight-free speaker embedder: liftered cepstral statistics of speech frames. Nothing is learned. (A background
// normalisation fitted on espeak-ng speech was tried and made it worse: synthetic voices are no model of real ones.)
// The loops below run over every 10 ms frame of every file, so they are plain typed-array code.

/** Manifest id of the baseline embedder. */
export const BASELINE_MODEL_ID = 'baseline-mfcc-stats';

/** Settings of the baseline. The defaults are the measured best (benchmarks/RESULTS.md). */
export interface BaselineConfig {
  /** Mel bins of the filterbank the cepstra are taken from. */
  melBins: number;
  /** Cepstral coefficients kept, c1..cN (c0, the loudness, is dropped). */
  ceps: number;
  /** Kaldi-style sinusoidal lifter (0 = none). */
  lifter: number;
  /** Upper band edge in Hz (Kaldi: <= 0 counts down from Nyquist). */
  highFreq: number;
  /** Half-width of the delta regression window, in frames. */
  deltaWindow: number;
  /** Which statistics make the vector. */
  stats: { mean: boolean; std: boolean; deltaStd: boolean; delta2Std: boolean; corr: boolean };
  /** Weight of each statistics block before the final L2 normalisation. */
  weights: { mean: number; std: number; deltaStd: number; delta2Std: number; corr: number };
  /** Keep only frames whose log energy is within this many nepers of the file's loud frames (0 = keep all). */
  energyRange: number;
}

/** The baseline's defaults. */
export const BASELINE_DEFAULTS: Readonly<BaselineConfig> = Object.freeze({
  melBins: 80,
  ceps: 24,
  lifter: 22,
  highFreq: -400,
  deltaWindow: 2,
  stats: Object.freeze({ mean: true, std: true, deltaStd: true, delta2Std: false, corr: false }),
  // The cepstral means carry most of the identity; the spreads help at half weight (see benchmarks/RESULTS.md).
  weights: Object.freeze({ mean: 1, std: 0.5, deltaStd: 0.5, delta2Std: 0.5, corr: 1 }),
  energyRange: 0,
});

/** Frame-level cepstra of a signal: `frames` x `dim` (statics, deltas, delta-deltas side by side). */
interface Cepstra {
  frames: number;
  ceps: number;
  statics: Float32Array;
  deltas: Float32Array;
  delta2: Float32Array;
  logEnergy: Float32Array;
}

/** Length of the statistics vector a config produces. */
export function baselineDim(c: BaselineConfig): number {
  const n = c.ceps;
  return (c.stats.mean ? n : 0) + (c.stats.std ? n : 0) + (c.stats.deltaStd ? n : 0) + (c.stats.delta2Std ? n : 0) + (c.stats.corr ? (n * (n - 1)) / 2 : 0);
}

/** The filterbank settings the baseline's cepstra are taken from. */
function baselineFbankOptions(c: BaselineConfig): FbankOptions {
  return { numBins: c.melBins, window: 'hamming', highFreq: c.highFreq, scale: 32768 };
}

function cepstra(fb: Fbank, c: BaselineConfig): Cepstra {
  const { frames, bins } = fb;
  const n = c.ceps;
  const dct = dctMatrix(bins, n, c.lifter);
  const statics = new Float32Array(frames * n);
  const logEnergy = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const row = fb.data.subarray(f * bins, (f + 1) * bins);
    let m = -Infinity;
    let s = 0;
    for (let b = 0; b < bins; b++) m = Math.max(m, row[b]!);
    for (let b = 0; b < bins; b++) s += Math.exp(row[b]! - m);
    logEnergy[f] = m + Math.log(s);
    for (let k = 0; k < n; k++) {
      let v = 0;
      const d = dct.subarray(k * bins, (k + 1) * bins);
      for (let b = 0; b < bins; b++) v += d[b]! * row[b]!;
      statics[f * n + k] = v;
    }
  }
  const deltas = delta(statics, frames, n, c.deltaWindow);
  const delta2 = delta(deltas, frames, n, c.deltaWindow);
  return { frames, ceps: n, statics, deltas, delta2, logEnergy };
}

/** Orthonormal DCT-II rows c1..cN (c0 dropped), with the sinusoidal lifter folded in. */
function dctMatrix(bins: number, n: number, lifter: number): Float32Array {
  const m = new Float32Array(n * bins);
  for (let k = 1; k <= n; k++) {
    const lift = lifter > 0 ? 1 + (lifter / 2) * Math.sin((Math.PI * k) / lifter) : 1;
    for (let b = 0; b < bins; b++) m[(k - 1) * bins + b] = lift * Math.sqrt(2 / bins) * Math.cos((Math.PI * k * (b + 0.5)) / bins);
  }
  return m;
}

/** Regression deltas over +-w frames, edges replicated (as Kaldi's add-deltas). */
function delta(x: Float32Array, frames: number, n: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  let denom = 0;
  for (let k = 1; k <= w; k++) denom += 2 * k * k;
  for (let f = 0; f < frames; f++) {
    for (let k = 1; k <= w; k++) {
      const a = Math.min(frames - 1, f + k) * n;
      const b = Math.max(0, f - k) * n;
      for (let d = 0; d < n; d++) out[f * n + d]! += (k * (x[a + d]! - x[b + d]!)) / denom;
    }
  }
  return out;
}

/** Frames to use: inside speech segments (times relative to the signal start) and, optionally, loud enough. */
function selectFrames(cep: Cepstra, speech: SpeechSegment[] | undefined, c: BaselineConfig): Uint32Array {
  const keep: number[] = [];
  // Frame f covers [f*10ms, f*10ms + 25ms]; it counts as speech when its centre is inside a segment.
  const inSpeech = (f: number): boolean => {
    if (!speech) return true;
    const t = f * 0.01 + 0.0125;
    return speech.some((s) => t >= s.start && t < s.end);
  };
  let loud = -Infinity;
  if (c.energyRange > 0) {
    const e = Float32Array.from(cep.logEnergy).sort();
    loud = e[Math.floor(0.95 * (e.length - 1))]! - c.energyRange;
  }
  for (let f = 0; f < cep.frames; f++) if (inSpeech(f) && cep.logEnergy[f]! >= loud) keep.push(f);
  return Uint32Array.from(keep);
}

/**
 * The baseline's statistics vector (not yet L2-normalised): mean and standard deviation of the cepstra,
 * standard deviations of their deltas, optionally correlations between coefficients. `speech` (seconds from the
 * start of `samples`) limits it to speech frames. Throws E_NO_SPEECH when fewer than 10 frames are usable.
 */
export function baselineStats(samples: Float32Array, speech?: SpeechSegment[], config: BaselineConfig = BASELINE_DEFAULTS): Float32Array {
  return statsOfFbank(fbank(samples, baselineFbankOptions(config)), speech, config);
}

/**
 * {@link baselineStats} with the filterbank from the native kernel (off the JS thread for long signals; the TS
 * filterbank without the addon). Agrees with `baselineStats` to float rounding (cosine 1 - 1e-6 or closer).
 */
export async function baselineStatsAsync(samples: Float32Array, speech?: SpeechSegment[], config: BaselineConfig = BASELINE_DEFAULTS): Promise<Float32Array> {
  return statsOfFbank(await computeFbank(samples, baselineFbankOptions(config)), speech, config);
}

function statsOfFbank(fb: Fbank, speech: SpeechSegment[] | undefined, config: BaselineConfig): Float32Array {
  const c = config;
  const cep = cepstra(fb, c);
  const idx = selectFrames(cep, speech, c);
  if (idx.length < 10) throw new LikenessError('E_NO_SPEECH', `too little speech for a voice embedding (${idx.length * 10} ms)`);
  const n = c.ceps;
  const out = new Float32Array(baselineDim(c));
  let o = 0;
  const meanS = blockMean(cep.statics, idx, n);
  if (c.stats.mean) for (let d = 0; d < n; d++) out[o++] = meanS[d]! * c.weights.mean;
  if (c.stats.std) o = putStd(out, o, cep.statics, idx, n, meanS, c.weights.std);
  if (c.stats.deltaStd) o = putStd(out, o, cep.deltas, idx, n, blockMean(cep.deltas, idx, n), c.weights.deltaStd);
  if (c.stats.delta2Std) o = putStd(out, o, cep.delta2, idx, n, blockMean(cep.delta2, idx, n), c.weights.delta2Std);
  if (c.stats.corr) putCorr(out, o, cep.statics, idx, n, meanS, c.weights.corr);
  return out;
}

function blockMean(x: Float32Array, idx: Uint32Array, n: number): Float64Array {
  const m = new Float64Array(n);
  for (const f of idx) for (let d = 0; d < n; d++) m[d]! += x[f * n + d]!;
  for (let d = 0; d < n; d++) m[d]! /= idx.length;
  return m;
}

function putStd(out: Float32Array, o: number, x: Float32Array, idx: Uint32Array, n: number, mean: Float64Array, w: number): number {
  const v = new Float64Array(n);
  for (const f of idx) {
    for (let d = 0; d < n; d++) {
      const e = x[f * n + d]! - mean[d]!;
      v[d]! += e * e;
    }
  }
  for (let d = 0; d < n; d++) out[o + d] = Math.sqrt(v[d]! / idx.length) * w;
  return o + n;
}

function putCorr(out: Float32Array, o: number, x: Float32Array, idx: Uint32Array, n: number, mean: Float64Array, w: number): number {
  const cov = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (const f of idx) {
    for (let d = 0; d < n; d++) e[d] = x[f * n + d]! - mean[d]!;
    for (let a = 0; a < n; a++) for (let b = a; b < n; b++) cov[a * n + b]! += e[a]! * e[b]!;
  }
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) out[o++] = (cov[a * n + b]! / Math.sqrt(cov[a * n + a]! * cov[b * n + b]! + 1e-12)) * w;
  }
  return o;
}

/** L2-normalises a vector in place and returns it (a zero vector stays zero). */
export function l2Normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}
