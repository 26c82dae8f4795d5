import { int, float32 } from '../validate';

// librosa-style mel power spectrogram, as Resemblyzer computes its encoder input with
// librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40): periodic Hann window,
// center=True with zero padding (librosa >= 0.10), |STFT|^2, Slaney-scale mel filters with Slaney area normalisation,
// no log. n_fft = 400 is not a power of two, so the 201 bins are a direct DFT from precomputed tables (about 80k
// multiply-adds per 10 ms frame; a few ms per second of audio).

/** Options of {@link melPowerSpectrogram}; defaults are Resemblyzer's. */
export interface MelOptions {
  /** Sample rate; default 16000. */
  sampleRate?: number;
  /** FFT (and window) length in samples; default 400 (25 ms). */
  nFft?: number;
  /** Hop in samples; default 160 (10 ms). */
  hop?: number;
  /** Number of mel bands; default 40. */
  nMels?: number;
}

/** Mel power frames: `frames` rows of `bins` values, row-major. */
export interface MelSpectrogram {
  frames: number;
  bins: number;
  data: Float32Array;
}

interface MelPlan {
  nFft: number;
  hop: number;
  nMels: number;
  window: Float64Array;
  cos: Float64Array;
  sin: Float64Array;
  /** Per band: first bin, weights. */
  filters: { from: number; w: Float64Array }[];
}

const plans = new Map<string, MelPlan>();

function hzToMel(f: number): number {
  return f >= 1000 ? 15 + Math.log(f / 1000) / (Math.log(6.4) / 27) : f / (200 / 3);
}

function melToHz(m: number): number {
  return m >= 15 ? 1000 * Math.exp((Math.log(6.4) / 27) * (m - 15)) : (200 / 3) * m;
}

/** librosa.filters.mel(sr, n_fft, n_mels) with its defaults (fmin 0, fmax sr/2, htk false, norm 'slaney'), [nMels][nFft/2+1]. */
export function slaneyMelFilters(sampleRate: number, nFft: number, nMels: number): Float64Array[] {
  const bins = (nFft >> 1) + 1;
  const fft = Array.from({ length: bins }, (_, k) => (k * sampleRate) / 2 / (bins - 1));
  const lo = hzToMel(0);
  const hi = hzToMel(sampleRate / 2);
  const melF = Array.from({ length: nMels + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (nMels + 1)));
  const out: Float64Array[] = [];
  for (let i = 0; i < nMels; i++) {
    const w = new Float64Array(bins);
    const d0 = melF[i + 1]! - melF[i]!;
    const d1 = melF[i + 2]! - melF[i + 1]!;
    const enorm = 2 / (melF[i + 2]! - melF[i]!);
    for (let k = 0; k < bins; k++) {
      const lower = (fft[k]! - melF[i]!) / d0;
      const upper = (melF[i + 2]! - fft[k]!) / d1;
      w[k] = Math.max(0, Math.min(lower, upper)) * enorm;
    }
    out.push(w);
  }
  return out;
}

function plan(o: Required<MelOptions>): MelPlan {
  const key = `${o.sampleRate}:${o.nFft}:${o.hop}:${o.nMels}`;
  const cached = plans.get(key);
  if (cached) return cached;
  const { nFft } = o;
  const bins = (nFft >> 1) + 1;
  const window = Float64Array.from({ length: nFft }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft));
  const cos = new Float64Array(bins * nFft);
  const sin = new Float64Array(bins * nFft);
  for (let k = 0; k < bins; k++) {
    for (let n = 0; n < nFft; n++) {
      const a = (2 * Math.PI * ((k * n) % nFft)) / nFft;
      cos[k * nFft + n] = Math.cos(a);
      sin[k * nFft + n] = Math.sin(a);
    }
  }
  const filters = slaneyMelFilters(o.sampleRate, nFft, o.nMels).map((w) => {
    let a = 0;
    while (a < w.length && w[a] === 0) a++;
    let b = w.length;
    while (b > a && w[b - 1] === 0) b--;
    return { from: a, w: w.slice(a, b) };
  });
  const p = { nFft, hop: o.hop, nMels: o.nMels, window, cos, sin, filters };
  plans.set(key, p);
  return p;
}

/** Number of frames {@link melPowerSpectrogram} gives for `n` samples (librosa, center=True): 1 + floor(n / hop). */
export function melFrameCount(n: number, hop = 160): number {
  return 1 + Math.floor(n / hop);
}

/** The mel power spectrogram of a signal (see the module comment for the exact definition). */
export function melPowerSpectrogram(samples: Float32Array, opts: MelOptions = {}): MelSpectrogram {
  float32('samples', samples, { finite: true });
  const o: Required<MelOptions> = {
    sampleRate: int('sampleRate', opts.sampleRate ?? 16000, 8000, 192000),
    nFft: int('nFft', opts.nFft ?? 400, 16, 8192),
    hop: int('hop', opts.hop ?? 160, 1, 8192),
    nMels: int('nMels', opts.nMels ?? 40, 1, 256),
  };
  const p = plan(o);
  const { nFft, hop } = p;
  const half = nFft >> 1;
  const bins = half + 1;
  const frames = melFrameCount(samples.length, hop);
  const out = new Float32Array(frames * p.nMels);
  const frame = new Float64Array(nFft);
  const power = new Float64Array(bins);
  for (let t = 0; t < frames; t++) {
    const start = t * hop - half;
    for (let n = 0; n < nFft; n++) {
      const i = start + n;
      frame[n] = i >= 0 && i < samples.length ? samples[i]! * p.window[n]! : 0;
    }
    for (let k = 0; k < bins; k++) {
      let re = 0;
      let im = 0;
      const row = k * nFft;
      for (let n = 0; n < nFft; n++) {
        re += frame[n]! * p.cos[row + n]!;
        im -= frame[n]! * p.sin[row + n]!;
      }
      power[k] = re * re + im * im;
    }
    for (let m = 0; m < p.nMels; m++) {
      const f = p.filters[m]!;
      let s = 0;
      for (let j = 0; j < f.w.length; j++) s += f.w[j]! * power[f.from + j]!;
      out[t * p.nMels + m] = s;
    }
  }
  return { frames, bins: p.nMels, data: out };
}
