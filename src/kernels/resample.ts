import { LikenessError } from '../errors';
import { int } from '../validate';
import { loadAddon, settle, SYNC_WORK } from './addon';

/** A polyphase windowed-sinc filter bank for one rate pair. */
export interface ResamplePlan {
  inRate: number;
  outRate: number;
  /** Rates divided by their gcd: output position n sits at input position n * down / up. */
  up: number;
  down: number;
  /** Tabulated phases: `up` when that is small enough, else 4096 (the nearest phase is used). */
  phases: number;
  /** Taps per phase (2 x half). */
  numTaps: number;
  half: number;
  /** `phases x numTaps` filter taps, each phase normalised to unit DC gain. */
  taps: Float64Array;
}

const MAX_PHASES = 4096;
/** Zero crossings of the sinc on each side: with the Kaiser window below, stop-band rejection is about 80 dB. */
const ZERO_CROSSINGS = 16;
const KAISER_BETA = 8.6;
/** Pass-band edge as a fraction of the lower Nyquist frequency. */
const ROLLOFF = 0.945;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1, term = 1;
  for (let k = 1; k < 64; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

const resamplePlans = new Map<string, ResamplePlan>();

/** The filter bank for `inRate` -> `outRate` (integer rates, 1 Hz .. 384 kHz); cached per pair. */
export function resamplePlan(inRate: number, outRate: number): ResamplePlan {
  int('input sample rate', inRate, 1, 384000);
  int('output sample rate', outRate, 1, 384000);
  const key = `${inRate}:${outRate}`;
  const cached = resamplePlans.get(key);
  if (cached) return cached;
  const g = gcd(inRate, outRate);
  const up = outRate / g, down = inRate / g;
  const phases = Math.min(up, MAX_PHASES);
  // Cutoff in cycles per input sample: below the lower of the two Nyquist frequencies.
  const fc = 0.5 * Math.min(1, outRate / inRate) * ROLLOFF;
  const half = Math.ceil(ZERO_CROSSINGS / (2 * fc));
  const numTaps = 2 * half;
  const taps = new Float64Array(phases * numTaps);
  const i0b = besselI0(KAISER_BETA);
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    let sum = 0;
    for (let j = 0; j < numTaps; j++) {
      const d = j - half + 1 - frac; // input sample minus output position
      const u = d / half;
      const w = Math.abs(u) >= 1 ? 0 : besselI0(KAISER_BETA * Math.sqrt(1 - u * u)) / i0b;
      const x = 2 * fc * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      taps[p * numTaps + j] = 2 * fc * sinc * w;
      sum += taps[p * numTaps + j]!;
    }
    for (let j = 0; j < numTaps; j++) taps[p * numTaps + j]! /= sum;
  }
  const plan: ResamplePlan = { inRate, outRate, up, down, phases, numTaps, half, taps };
  if (resamplePlans.size > 16) resamplePlans.clear();
  resamplePlans.set(key, plan);
  return plan;
}

/** Output length for `inLen` input samples: ceil(inLen * up / down). */
export function resampledLength(inLen: number, plan: ResamplePlan): number {
  return floorDiv(inLen * plan.up + plan.down - 1, plan.down);
}

/** Exact floor(a / b) for non-negative integers below 2^53 (a float division can round up to the next integer). */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  while (q * b > a) q--;
  while ((q + 1) * b <= a) q++;
  return q;
}

/** TS twin of the resampler: out[n] = sum_j taps[phase(n)][j] * x[base(n) - half + 1 + j], zeros outside the input. */
export function resampleTs(samples: Float32Array, plan: ResamplePlan): Float32Array {
  const { up, down, phases, numTaps, half, taps } = plan;
  const outLen = resampledLength(samples.length, plan);
  const out = new Float32Array(outLen);
  const n = samples.length;
  for (let o = 0; o < outLen; o++) {
    const pos = o * down;
    let base = floorDiv(pos, up);
    const frac = pos - base * up;
    let p = frac;
    if (phases !== up) {
      p = Math.floor((2 * frac * phases + up) / (2 * up));
      if (p === phases) {
        p = 0;
        base++;
      }
    }
    const start = base - half + 1;
    const h = p * numTaps;
    let acc = 0;
    for (let j = 0; j < numTaps; j++) {
      const i = start + j;
      if (i >= 0 && i < n) acc += taps[h + j]! * samples[i]!;
    }
    out[o] = acc;
  }
  return out;
}

/**
 * Resamples mono float samples from `inRate` to `outRate` (default 16 kHz, the rate of every voice model) with a
 * polyphase Kaiser-windowed sinc (about 80 dB stop band). Native kernel, or `resampleTs` without the addon.
 */
export async function resampleAudio(samples: Float32Array, inRate: number, outRate = 16000): Promise<Float32Array> {
  if (!(samples instanceof Float32Array)) throw new LikenessError('E_INPUT', 'samples must be a Float32Array');
  const plan = resamplePlan(inRate, outRate);
  if (inRate === outRate) return new Float32Array(samples);
  const a = loadAddon();
  if (!a) return resampleTs(samples, plan);
  const out = new Float32Array(resampledLength(samples.length, plan));
  const async = out.length * plan.numTaps > SYNC_WORK;
  await settle(() => a.resample(samples, plan.taps, plan.phases, plan.numTaps, plan.half, plan.up, plan.down, out, async), 'resample');
  return out;
}
