import { LikenessError } from '../errors';
import { int, num, oneOf } from '../validate';
import { loadAddon, defaultThreads, settle, SYNC_FBANK_SAMPLES, type NativeOptions } from './addon';
import { RealFft } from './fft';

// Kaldi-compatible log-mel filterbank, step for step as torchaudio.compliance.kaldi.fbank computes it, because the
// speaker models (WeSpeaker, 3D-Speaker, NeMo exports in sherpa-onnx) were trained on exactly these features. This TS
// version is the reference the native kernel is compared to: correctness first, then speed (tables are built once
// per option set, the inner loops use typed arrays and touch only the non-zero part of each mel filter).

/** Window functions Kaldi offers. */
export type FbankWindow = 'povey' | 'hamming' | 'hanning' | 'rectangular' | 'blackman';

/** Feature options; defaults are those of WeSpeaker / 3D-Speaker (Kaldi fbank, 80 bins, no dither). */
export interface FbankOptions {
  /** Sample rate of the input; default 16000. */
  sampleRate?: number;
  /** Number of mel bins; default 80. */
  numBins?: number;
  /** Frame length in milliseconds; default 25. */
  frameLengthMs?: number;
  /** Frame shift in milliseconds; default 10. */
  frameShiftMs?: number;
  /** Window function; default `povey`. */
  window?: FbankWindow;
  /** Blackman coefficient (only for `blackman`); default 0.42. */
  blackmanCoeff?: number;
  /** Pre-emphasis coefficient; default 0.97 (0 turns it off). */
  preemphasis?: number;
  /** Subtract each frame's mean before pre-emphasis; default true. */
  removeDcOffset?: boolean;
  /** Multiply samples by this before anything else; default 32768 (int16 range, as Kaldi reads WAV). */
  scale?: number;
  /** Lowest filter edge in Hz; default 20. */
  lowFreq?: number;
  /** Highest filter edge in Hz; <= 0 means Nyquist + highFreq. Default 0. */
  highFreq?: number;
  /** Only frames that fit completely (true, default) or Kaldi's reflected edges (false). */
  snipEdges?: boolean;
  /** Power spectrum (true, default) or magnitude. */
  usePower?: boolean;
}

/** Log-mel features: `frames` rows of `bins` values, row-major. */
export interface Fbank {
  frames: number;
  bins: number;
  data: Float32Array;
}

type Resolved = Required<FbankOptions>;

/** The defaults, as WeSpeaker and 3D-Speaker call torchaudio.compliance.kaldi.fbank. */
export const KALDI_FBANK_DEFAULTS: Readonly<Resolved> = Object.freeze({
  sampleRate: 16000,
  numBins: 80,
  frameLengthMs: 25,
  frameShiftMs: 10,
  window: 'povey',
  blackmanCoeff: 0.42,
  preemphasis: 0.97,
  removeDcOffset: true,
  scale: 32768,
  lowFreq: 20,
  highFreq: 0,
  snipEdges: true,
  usePower: true,
});

/** float32 machine epsilon: torchaudio floors mel energies at it before the log. */
const FLOAT32_EPS = 1.1920928955078125e-7;
const WINDOWS: readonly FbankWindow[] = ['povey', 'hamming', 'hanning', 'rectangular', 'blackman'];

/** Precomputed tables for one option set. */
/** The precomputed tables of one fbank configuration (window, FFT size, sparse mel filters); shared with the native kernel. */
export interface FbankPlan {
  o: Resolved;
  windowSize: number;
  windowShift: number;
  paddedSize: number;
  window: Float64Array;
  fft: RealFft;
  /** For each mel bin, the first FFT bin with a non-zero weight and the weights from there. */
  melStart: Int32Array;
  melWeights: Float64Array[];
}

const plans = new Map<string, FbankPlan>();

function resolve(opts: FbankOptions): Resolved {
  const o: Resolved = { ...KALDI_FBANK_DEFAULTS, ...stripUndefined(opts) };
  num('sampleRate', o.sampleRate, 1000, 384000);
  int('numBins', o.numBins, 4, 512);
  num('frameLengthMs', o.frameLengthMs, 1, 1000);
  num('frameShiftMs', o.frameShiftMs, 0.1, 1000);
  oneOf('window', o.window, WINDOWS);
  num('blackmanCoeff', o.blackmanCoeff, 0, 1);
  num('preemphasis', o.preemphasis, 0, 1);
  num('scale', o.scale, 1e-9, 1e9);
  num('lowFreq', o.lowFreq, 0, o.sampleRate / 2);
  num('highFreq', o.highFreq, -o.sampleRate / 2, o.sampleRate / 2);
  return o;
}

function stripUndefined(o: FbankOptions): FbankOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as FbankOptions;
}

/** Kaldi's window functions (torch's `periodic=False` variants). */
export function windowFunction(type: FbankWindow, size: number, blackmanCoeff = 0.42): Float64Array {
  const w = new Float64Array(size);
  const a = (2 * Math.PI) / (size - 1);
  for (let i = 0; i < size; i++) {
    const hann = 0.5 - 0.5 * Math.cos(a * i);
    switch (type) {
      case 'hanning':
        w[i] = hann;
        break;
      case 'povey':
        w[i] = Math.pow(hann, 0.85);
        break;
      case 'hamming':
        w[i] = 0.54 - 0.46 * Math.cos(a * i);
        break;
      case 'rectangular':
        w[i] = 1;
        break;
      case 'blackman':
        w[i] = blackmanCoeff - 0.5 * Math.cos(a * i) + (0.5 - blackmanCoeff) * Math.cos(2 * a * i);
        break;
    }
  }
  return w;
}

/** Kaldi's mel scale. */
export function melScale(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

/**
 * Kaldi's triangular mel filters over FFT bins 0..paddedSize/2-1 (the Nyquist bin gets no weight, as in Kaldi),
 * as a dense `numBins x paddedSize/2` matrix, row-major. Computed in float32 steps (Math.fround) exactly as Kaldi
 * (BaseFloat) and torchaudio (float32 tensors) build them: in float64 the weights move by up to 1.4e-5, which shifts
 * log energies by up to ~2e-4; with the same rounding the difference drops to float noise.
 */
export function melBanks(numBins: number, paddedSize: number, sampleRate: number, lowFreq: number, highFreq: number): Float64Array {
  const f = Math.fround;
  const numFftBins = paddedSize / 2;
  const nyquist = sampleRate / 2;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist && high > 0 && high <= nyquist && lowFreq < high)) {
    throw new LikenessError('E_INPUT', `mel filter range ${lowFreq}..${high} Hz does not fit 0..${nyquist} Hz`);
  }
  // The scalars are float64 (python floats in torchaudio); the per-bin tensors are float32.
  const binWidth = f(sampleRate / paddedSize);
  const melLow = melScale(lowFreq);
  const melDelta = f((melScale(high) - melLow) / (numBins + 1));
  const melLow32 = f(melLow);
  const fftMel = new Float64Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) fftMel[k] = f(f(1127) * f(Math.log(f(1 + f(f(binWidth * k) / 700)))));
  const out = new Float64Array(numBins * numFftBins);
  for (let b = 0; b < numBins; b++) {
    const left = f(melLow32 + f(b * melDelta));
    const center = f(melLow32 + f((b + 1) * melDelta));
    const right = f(melLow32 + f((b + 2) * melDelta));
    const upDen = f(center - left);
    const downDen = f(right - center);
    for (let k = 0; k < numFftBins; k++) {
      const mel = fftMel[k];
      const up = f(f(mel - left) / upDen);
      const down = f(f(right - mel) / downDen);
      out[b * numFftBins + k] = Math.max(0, Math.min(up, down));
    }
  }
  return out;
}

function makePlan(o: Resolved): FbankPlan {
  // Same integer arithmetic as torchaudio: int(sample_frequency * ms * 0.001).
  const windowShift = Math.trunc(o.sampleRate * o.frameShiftMs * 0.001);
  const windowSize = Math.trunc(o.sampleRate * o.frameLengthMs * 0.001);
  if (windowSize < 2 || windowShift < 1) throw new LikenessError('E_INPUT', `frame of ${windowSize} samples / shift ${windowShift} is too small`);
  let paddedSize = 1;
  while (paddedSize < windowSize) paddedSize <<= 1;
  paddedSize = Math.max(paddedSize, 4);
  const dense = melBanks(o.numBins, paddedSize, o.sampleRate, o.lowFreq, o.highFreq);
  const numFftBins = paddedSize / 2;
  const melStart = new Int32Array(o.numBins);
  const melWeights: Float64Array[] = [];
  for (let b = 0; b < o.numBins; b++) {
    const row = dense.subarray(b * numFftBins, (b + 1) * numFftBins);
    let first = row.findIndex((v) => v > 0);
    let last = numFftBins - 1;
    while (last >= 0 && !(row[last] > 0)) last--;
    if (first < 0) first = last = 0; // an empty filter (too many bins for the FFT size): contributes 0, log floors it
    melStart[b] = first;
    melWeights.push(row.slice(first, last + 1));
  }
  return { o, windowSize, windowShift, paddedSize, window: windowFunction(o.window, windowSize, o.blackmanCoeff), fft: new RealFft(paddedSize), melStart, melWeights };
}

/** The validated, cached tables for `opts` (E_INPUT on bad options). */
export function fbankPlan(opts: FbankOptions): FbankPlan {
  const o = resolve(opts);
  const key = JSON.stringify(o);
  let p = plans.get(key);
  if (!p) {
    p = makePlan(o);
    if (plans.size > 32) plans.clear();
    plans.set(key, p);
  }
  return p;
}

/** Number of frames fbank gives for `numSamples` samples with these options. */
export function fbankFrameCount(numSamples: number, opts: FbankOptions = {}): number {
  const p = fbankPlan(opts);
  return frameCount(numSamples, p);
}

function frameCount(n: number, p: FbankPlan): number {
  if (p.o.snipEdges) return n < p.windowSize ? 0 : 1 + Math.floor((n - p.windowSize) / p.windowShift);
  return Math.floor((n + Math.floor(p.windowShift / 2)) / p.windowShift);
}

/** Sample index `t` of `x`, reflected at the ends the way Kaldi does (… x1 x0 | x0 x1 … xn-1 | xn-1 xn-2 …). */
function reflectIndex(t: number, n: number): number {
  let i = t;
  // Loop: a signal shorter than half a frame needs more than one reflection.
  for (;;) {
    if (i < 0) i = -i - 1;
    else if (i >= n) i = 2 * n - 1 - i;
    else return i;
  }
}

/**
 * Computes log-mel filterbank features of mono samples (-1..1 floats), matching torchaudio.compliance.kaldi.fbank
 * with dither 0, use_energy false and the given options. Input shorter than one frame gives 0 frames.
 */
export function fbank(samples: Float32Array, opts: FbankOptions = {}): Fbank {
  if (!(samples instanceof Float32Array)) throw new LikenessError('E_INPUT', 'fbank samples must be a Float32Array');
  const p = fbankPlan(opts);
  const { o, windowSize, windowShift, window, fft } = p;
  const n = samples.length;
  const frames = n === 0 ? 0 : frameCount(n, p);
  const bins = o.numBins;
  const data = new Float32Array(frames * bins);
  const frame = new Float64Array(windowSize);
  const power = new Float64Array(p.paddedSize / 2 + 1);
  const pad = Math.floor(windowSize / 2) - Math.floor(windowShift / 2);
  const scale = o.scale;
  const pre = o.preemphasis;
  for (let f = 0; f < frames; f++) {
    const start = o.snipEdges ? f * windowShift : f * windowShift - pad;
    let sum = 0;
    if (start >= 0 && start + windowSize <= n) {
      for (let i = 0; i < windowSize; i++) sum += frame[i] = samples[start + i] * scale;
    } else {
      for (let i = 0; i < windowSize; i++) sum += frame[i] = samples[reflectIndex(start + i, n)] * scale;
    }
    if (o.removeDcOffset) {
      const mean = sum / windowSize;
      for (let i = 0; i < windowSize; i++) frame[i] -= mean;
    }
    if (pre !== 0) {
      // Backwards so each step still sees the previous raw sample; the first sample uses itself (replicate pad).
      for (let i = windowSize - 1; i > 0; i--) frame[i] -= pre * frame[i - 1];
      frame[0] -= pre * frame[0];
    }
    for (let i = 0; i < windowSize; i++) frame[i] *= window[i];
    fft.powerSpectrum(frame, power);
    if (!o.usePower) for (let k = 0; k < power.length; k++) power[k] = Math.sqrt(power[k]);
    const row = f * bins;
    for (let b = 0; b < bins; b++) {
      const w = p.melWeights[b];
      const s = p.melStart[b];
      let e = 0;
      for (let k = 0; k < w.length; k++) e += w[k] * power[s + k];
      data[row + b] = Math.log(e > FLOAT32_EPS ? e : FLOAT32_EPS);
    }
  }
  return { frames, bins, data };
}

/** Cepstral mean normalisation: a copy of `fb` with each bin's mean over all frames subtracted (what models expect). */
export function applyCmn(fb: Fbank): Fbank {
  const { frames, bins } = fb;
  const data = new Float32Array(fb.data);
  if (frames === 0) return { frames, bins, data };
  const mean = new Float64Array(bins);
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) mean[b] += data[f * bins + b];
  for (let b = 0; b < bins; b++) mean[b] /= frames;
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) data[f * bins + b] -= mean[b];
  return { frames, bins, data };
}

/** Features as rows (for JSON output). */
export function fbankRows(fb: Fbank): number[][] {
  const rows: number[][] = [];
  for (let f = 0; f < fb.frames; f++) rows.push(Array.from(fb.data.subarray(f * fb.bins, (f + 1) * fb.bins)));
  return rows;
}

/** The fbank plan in the flat form the native kernel takes; built from fbank.ts's own window and mel functions. */
export interface FbankTables {
  windowSize: number;
  windowShift: number;
  paddedSize: number;
  bins: number;
  scale: number;
  preemphasis: number;
  removeDcOffset: boolean;
  snipEdges: boolean;
  usePower: boolean;
  window: Float64Array;
  /** First FFT bin with a non-zero weight, per mel bin. */
  melStart: Int32Array;
  /** Number of weights from `melStart`, per mel bin. */
  melLen: Int32Array;
  /** Offset of each bin's weights in `melWeights`. */
  melOffset: Int32Array;
  melWeights: Float64Array;
}

const fbankTableCache = new Map<string, FbankTables>();

/**
 * The fbank tables for `opts`, exactly as this file builds its plan (same window and mel functions, same
 * integer frame arithmetic). Options are validated by fbank.ts itself.
 */
export function fbankTables(opts: FbankOptions = {}): FbankTables {
  const plan = fbankPlan(opts); // validates the options the way fbank() does (throws E_INPUT)
  const o = plan.o;
  const key = JSON.stringify(o);
  const cached = fbankTableCache.get(key);
  if (cached) return cached;
  // The native kernel takes the sparse mel filters flattened into one array with per-bin offsets.
  const melLen = Int32Array.from(plan.melWeights, (w) => w.length);
  const melOffset = new Int32Array(o.numBins);
  for (let b = 1; b < o.numBins; b++) melOffset[b] = melOffset[b - 1]! + melLen[b - 1]!;
  const melWeights = new Float64Array(plan.melWeights.reduce((n, w) => n + w.length, 0));
  plan.melWeights.forEach((w, b) => melWeights.set(w, melOffset[b]!));
  const t: FbankTables = {
    windowSize: plan.windowSize,
    windowShift: plan.windowShift,
    paddedSize: plan.paddedSize,
    bins: o.numBins,
    scale: o.scale,
    preemphasis: o.preemphasis,
    removeDcOffset: o.removeDcOffset,
    snipEdges: o.snipEdges,
    usePower: o.usePower,
    window: plan.window,
    melStart: plan.melStart,
    melLen,
    melOffset,
    melWeights,
  };
  if (fbankTableCache.size > 32) fbankTableCache.clear();
  fbankTableCache.set(key, t);
  return t;
}

/**
 * Kaldi log-mel filterbank of a whole signal: the native kernel, or `fbank` from this file without the
 * addon. Same options and result as `fbank`; the two agree within 1e-4.
 */
export async function computeFbank(samples: Float32Array, opts: FbankOptions = {}, native: NativeOptions = {}): Promise<Fbank> {
  if (!(samples instanceof Float32Array)) throw new LikenessError('E_INPUT', 'fbank samples must be a Float32Array');
  const a = loadAddon();
  if (!a) return fbank(samples, opts);
  const t = fbankTables(opts);
  const frames = samples.length === 0 ? 0 : fbankFrameCount(samples.length, opts);
  const data = new Float32Array(frames * t.bins);
  if (frames === 0) return { frames, bins: t.bins, data };
  const params = Float64Array.of(t.windowSize, t.windowShift, t.paddedSize, t.bins, t.scale, t.preemphasis, +t.removeDcOffset, +t.snipEdges, +t.usePower, frames);
  const async = samples.length > SYNC_FBANK_SAMPLES;
  const threads = int('threads', native.threads ?? defaultThreads(), 1, 64);
  await settle(() => a.fbank(samples, t.window, t.melStart, t.melLen, t.melOffset, t.melWeights, params, data, async, threads), 'fbank');
  return { frames, bins: t.bins, data };
}
