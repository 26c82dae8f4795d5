import { LikenessError } from '../errors';
import type { AudioSignal } from '../media/audio';
import * as fs from 'fs';
import { loadManifest, modelEntry } from '../models/manifest';
import { readOnnxMetadata } from '../models/onnx-meta';
import { num, invalid, audioSignal, float32, list, oneOf, options, str } from '../validate';
import { computeFbank } from '../kernels/fbank';
import { BASELINE_DEFAULTS, BASELINE_MODEL_ID, baselineDim, baselineStatsAsync } from './baseline';
import { normaliseInPlace } from '../kernels/vector';
import { FbankOptions, FbankWindow } from '../kernels/fbank';
import { OnnxSpeakerModel, SpeakerFeatureConfig } from './onnx-speaker';
import { ResemblyzerModel } from './resemblyzer';
import { SpeechSegment, VadMethod, detectSpeech } from './vad';
import { gather, sliceSpeech } from './speech-ranges';
import { degeneracy, type JunkSet } from '../kernels/vector';
import { voiceJunkSignals } from '../media/junk';

/**
 * Cosine to the nearest junk-signal embedding at or above which a voice embedding is junk (neural models). Measured
 * (scripts/junk-embeddings.ts --shared 150, campplus-zh-en): 295 windows of real speech reach at most 0.563 (median
 * 0.420); the one real file above it is a noise recording with no detected speech (0.989). Stationary signals
 * (silence, DC, most pure tones) all land on one point (cosine 1.0: the model's per-utterance mean normalisation
 * leaves nothing); held-out tones, DC, noise and a tone in noise reach 0.95-1.0, a chirp 0.747. See
 * benchmarks/RESULTS.md.
 */
export const VOICE_JUNK_MAX_COSINE = 0.7;

/** One embedding over a stretch of speech. */
export interface VoiceWindow {
  /** Start and end (seconds, on the signal's timeline) of the speech this window covers. */
  start: number;
  end: number;
  /** Seconds of speech in the window (pauses between speech segments are skipped). */
  speechSeconds: number;
  /** L2-normalised speaker embedding; compare with cosine (dot product). */
  embedding: Float32Array;
  modelId: string;
}

/** Everything {@link VoiceEmbedder.embed} found in a signal. */
export interface VoiceEmbedding {
  modelId: string;
  /** True when the weight-free baseline made the embeddings (no neural model installed or chosen). */
  isBaseline: boolean;
  speech: SpeechSegment[];
  speechSeconds: number;
  windows: VoiceWindow[];
  /** Speech-weighted mean of the windows, L2-normalised; null when there was too little speech. */
  embedding: Float32Array | null;
}

/** Options of {@link VoiceEmbedder.create}. */
export interface VoiceEmbedderOptions {
  /** Model id from the manifest (a neural voice model or `baseline-mfcc-stats`); default {@link DEFAULT_VOICE_MODEL}. */
  model?: string;
  /** An ONNX speaker model file outside the manifest (sherpa-onnx export with its metadata). Wins over `model`. */
  modelFile?: string;
  /** Speech detector; default silero. */
  vad?: VadMethod;
  /** Window length in seconds of speech (default 3). */
  windowSeconds?: number;
  /** Hop between windows in seconds of speech (default 1.5). */
  hopSeconds?: number;
  /** Speech shorter than this gives no window (seconds, default 0.2). */
  minSpeechSeconds?: number;
  /** A pause longer than this (seconds) ends a run of speech; no window spans two runs. Default: none (windows may span any pause). */
  maxPauseSeconds?: number;
}

/** Checks {@link VoiceEmbedderOptions} (E_INPUT) before a model is loaded. */
function checkEmbedderOptions(opts: VoiceEmbedderOptions): void {
  options('VoiceEmbedder options', opts);
  if (opts.model !== undefined) str('model', opts.model);
  if (opts.modelFile !== undefined) str('modelFile', opts.modelFile);
  if (opts.vad !== undefined) oneOf('vad', opts.vad, ['silero', 'energy'] as const);
  const win = num('windowSeconds', opts.windowSeconds ?? 3, 0.5, 60);
  num('hopSeconds', opts.hopSeconds ?? 1.5, 0.1, win);
  num('minSpeechSeconds', opts.minSpeechSeconds ?? 0.2, 0.1, win);
  if (opts.maxPauseSeconds !== undefined) num('maxPauseSeconds', opts.maxPauseSeconds, 0, 3600);
}

/**
 * The same limit for the weight-free baseline. Measured (scripts/junk-embeddings.ts --shared 150 --voice-model
 * baseline-mfcc-stats): real speech windows reach at most 0.744 to the nearest junk signal; silence and DC give a zero
 * vector (refused as such), noise 0.998; its tones do not cluster (held-out ones -0.02 and 0.15), so for the baseline
 * the set catches noise-like junk only.
 */
export const BASELINE_JUNK_MAX_COSINE = 0.95;

/** The default voice model: 3D-Speaker CAM++ zh-en, shipped in models/ (no download). */
export const DEFAULT_VOICE_MODEL = 'campplus-zh-en';

/** Below this much detected speech, a clip no longer than one window is embedded whole (see `VoiceEmbedder.embed`). */
export const SHORT_CLIP_SPEECH_SECONDS = 1;

/** The line callers print (once) when the baseline is in use. */
export const BASELINE_NOTICE = `voice model: baseline (weight-free MFCC statistics, chosen explicitly; far less accurate than the default neural model ${DEFAULT_VOICE_MODEL})`;

/** Ids of neural voice embedders in the manifest, in manifest order. */
export function neuralVoiceModels(): string[] {
  return loadManifest()
    .models.filter((m) => m.modality === 'voice' && m.task === 'embed' && m.source.kind !== 'builtin')
    .map((m) => m.id);
}

/** Raw (not yet L2-normalised) embedding of speech samples. */
type Embedder = (samples: Float32Array) => Promise<Float32Array>;

/**
 * Speaker embeddings for audio: speech detection, sliding windows over the speech (3 s, hop 1.5 s by default), one
 * embedding per window and a speech-weighted mean per signal. Uses the shipped neural model ({@link DEFAULT_VOICE_MODEL})
 * unless another is named; it fails with E_MODEL rather than fall back. The weight-free baseline runs only when named
 * (`baseline-mfcc-stats`), flagged with `isBaseline` so callers can warn.
 */
export class VoiceEmbedder {
  /** Id of the model that makes the embeddings. */
  readonly modelId: string;
  /** True for the weight-free baseline. */
  readonly isBaseline: boolean;
  /** Embedding dimension. */
  readonly dim: number;
  private readonly run: Embedder;
  private readonly vad: VadMethod;
  private readonly win: number;
  private readonly hop: number;
  private readonly minSpeech: number;
  private readonly maxPause: number;

  private constructor(modelId: string, isBaseline: boolean, dim: number, run: Embedder, o: VoiceEmbedderOptions) {
    this.modelId = modelId;
    this.isBaseline = isBaseline;
    this.dim = dim;
    this.run = run;
    this.vad = o.vad ?? 'silero';
    this.win = num('windowSeconds', o.windowSeconds ?? 3, 0.5, 60);
    this.hop = num('hopSeconds', o.hopSeconds ?? 1.5, 0.1, this.win);
    this.minSpeech = num('minSpeechSeconds', o.minSpeechSeconds ?? 0.2, 0.1, this.win);
    this.maxPause = o.maxPauseSeconds ?? Infinity;
  }

  /** Chooses and loads the model. E_MODEL when a named model is missing or broken (with the command that fixes it). */
  static async create(opts: VoiceEmbedderOptions = {}): Promise<VoiceEmbedder> {
    checkEmbedderOptions(opts);
    if (opts.modelFile) {
      if (fs.existsSync(opts.modelFile) && ResemblyzerModel.isResemblyzer(readOnnxMetadata(opts.modelFile))) {
        return VoiceEmbedder.resemblyzer(await ResemblyzerModel.fromFile(opts.modelFile), opts);
      }
      return VoiceEmbedder.neural(await OnnxSpeakerModel.fromFile(opts.modelFile), opts);
    }
    const id = opts.model ?? DEFAULT_VOICE_MODEL;
    if (id === BASELINE_MODEL_ID) {
      const dim = baselineDim(BASELINE_DEFAULTS);
      return new VoiceEmbedder(BASELINE_MODEL_ID, true, dim, (x) => baselineStatsAsync(x), opts);
    }
    if (modelEntry(id).input.frontEnd === 'resemblyzer') return VoiceEmbedder.resemblyzer(await ResemblyzerModel.fromManifest(id), opts);
    return VoiceEmbedder.neural(await OnnxSpeakerModel.fromManifest(id), opts);
  }

  private static resemblyzer(model: ResemblyzerModel, opts: VoiceEmbedderOptions): VoiceEmbedder {
    return new VoiceEmbedder(model.id, false, model.dim, (x) => model.embedSamples(x), opts);
  }

  private static neural(model: OnnxSpeakerModel, opts: VoiceEmbedderOptions): VoiceEmbedder {
    const fo = fbankOptionsFor(model.info.features);
    const minFrames = 10;
    const run: Embedder = async (x) => {
      const f = await computeFbank(x, fo);
      if (f.frames < minFrames) throw new LikenessError('E_NO_SPEECH', `too little speech for ${model.id}`);
      return model.embedFeatures(f);
    };
    return new VoiceEmbedder(model.id, false, model.dim, run, opts);
  }

  /**
   * What this model makes of junk: the embeddings of silence, DC offsets, pure tones, noise, clicks and a square wave
   * (3 s each, embedded whole; computed once per embedder), with the cosine at or above which a voice embedding
   * counts as junk. The enrollment gate and searches refuse such embeddings.
   */
  junkSet(): Promise<JunkSet> {
    this.junk ??= (async () => {
      const prototypes: Float32Array[] = [];
      for (const x of Object.values(voiceJunkSignals(this.win))) {
        try {
          const v = normaliseInPlace(await this.run(x));
          if (degeneracy(v) === null) prototypes.push(v); // a zero output (the baseline on silence) is refused as such
        } catch (e) {
          if (e instanceof LikenessError && e.code === 'E_NO_SPEECH') continue;
          throw e;
        }
      }
      return { modelId: this.modelId, prototypes, maxCosine: this.isBaseline ? BASELINE_JUNK_MAX_COSINE : VOICE_JUNK_MAX_COSINE };
    })();
    // A failure (a model that cannot load) is not kept: the next call tries again.
    this.junk.catch(() => (this.junk = undefined));
    return this.junk;
  }

  private junk: Promise<JunkSet> | undefined;

  /** The embedding of a whole clip of speech, without speech detection or windows (the caller chose the samples). */
  async embedSamples(samples: Float32Array): Promise<Float32Array> {
    float32('samples', samples, { finite: true });
    return normaliseInPlace(await this.run(samples));
  }

  /**
   * Speech, windows and the per-signal embedding of a 16 kHz mono signal. With a neural model, a clip no longer than
   * one window whose detected speech is under {@link SHORT_CLIP_SPEECH_SECONDS} (a single word) is embedded whole,
   * unless `speech` is given.
   */
  async embed(signal: AudioSignal, speech?: SpeechSegment[]): Promise<VoiceEmbedding> {
    audioSignal('signal', signal);
    if (speech !== undefined) {
      list<SpeechSegment>('speech', speech).forEach((s, i) => {
        if (!s || typeof s !== 'object') throw invalid(`speech[${i}] must be {start, end}`);
        num(`speech[${i}].start`, s.start, 0, Number.MAX_SAFE_INTEGER);
        num(`speech[${i}].end`, s.end, s.start, Number.MAX_SAFE_INTEGER);
      });
    }
    const acc = new Accumulator(this);
    await this.addSignal(acc, signal, speech);
    return acc.result();
  }

  /**
   * The same for a stream of consecutive chunks (e.g. `streamAudio(file, { chunkSeconds: 60 })`), so hour-long input
   * needs memory for one chunk only. Speech detection runs per chunk and windows do not cross chunk boundaries, so
   * use chunks of a minute or more.
   */
  async embedStream(chunks: AsyncIterable<AudioSignal>): Promise<VoiceEmbedding> {
    if (chunks === null || typeof chunks !== 'object' || typeof chunks[Symbol.asyncIterator] !== 'function') {
      throw invalid('embedStream needs an async iterable of AudioSignal chunks (e.g. streamAudio(file))');
    }
    const acc = new Accumulator(this);
    for await (const chunk of chunks) await this.addSignal(acc, chunk);
    return acc.result();
  }

  private async addSignal(acc: Accumulator, signal: AudioSignal, speech?: SpeechSegment[]): Promise<void> {
    audioSignal('signal', signal);
    const segs = speech ?? (await detectSpeech(signal, { method: this.vad }));
    const offset = signal.offset ?? 0;
    acc.speech.push(...segs);
    const n = signal.samples.length;
    const detected = segs.reduce((t, s) => t + s.end - s.start, 0);
    // A short clip (at most one window long) with under SHORT_CLIP_SPEECH_SECONDS of detected speech -- a single word,
    // a clipped phrase -- is embedded whole: speech detection trims the edges of such words and leaves too little for
    // the model (measured on eval voices: 19 of 5,502 trials failed and the short trials' EER was 0.28 with the
    // detected speech only, 0 failed and 0.074 with the whole clip). The neural models only; longer signals keep the
    // detected speech, so silence and music around it never dilute the embedding.
    const planned =
      speech === undefined && !this.isBaseline && detected < SHORT_CLIP_SPEECH_SECONDS && n <= this.win * 16000 && n >= this.minSpeech * 16000
        ? [{ start: offset, end: offset + n / 16000, speechSeconds: n / 16000, pieces: [[0, n]] as [number, number][] }]
        : planWindows(segs, offset, n, this.win, this.hop, this.minSpeech, this.maxPause);
    for (const w of planned) {
      let raw: Float32Array;
      try {
        raw = await this.run(gather(signal.samples, w.pieces));
      } catch (e) {
        if (e instanceof LikenessError && e.code === 'E_NO_SPEECH') continue;
        throw e;
      }
      acc.add({ start: w.start, end: w.end, speechSeconds: w.speechSeconds, embedding: raw, modelId: this.modelId });
    }
  }
}

/**
 * Collects windows. The per-signal embedding is the speech-weighted mean of the raw window vectors, normalised once
 * at the end: for the baseline that pools the statistics themselves (measured better than averaging unit vectors).
 */
class Accumulator {
  readonly speech: SpeechSegment[] = [];
  readonly windows: VoiceWindow[] = [];
  private readonly sum: Float64Array;

  constructor(private readonly e: VoiceEmbedder) {
    this.sum = new Float64Array(e.dim);
  }

  /** Adds a window whose `embedding` is still raw; it is L2-normalised here. */
  add(w: VoiceWindow): void {
    for (let i = 0; i < this.sum.length; i++) this.sum[i]! += w.embedding[i]! * w.speechSeconds;
    this.windows.push({ ...w, embedding: normaliseInPlace(Float32Array.from(w.embedding)) });
  }

  result(): VoiceEmbedding {
    const speechSeconds = this.speech.reduce((s, g) => s + g.end - g.start, 0);
    const embedding = this.windows.length ? normaliseInPlace(Float32Array.from(this.sum)) : null;
    return { modelId: this.e.modelId, isBaseline: this.e.isBaseline, speech: this.speech, speechSeconds, windows: this.windows, embedding };
  }
}

/** Fbank settings for a model's feature config (torchaudio/Kaldi conventions the models were trained with). */
export function fbankOptionsFor(f: SpeakerFeatureConfig): FbankOptions {
  const windows: Record<string, FbankWindow> = { povey: 'povey', hann: 'hanning', hanning: 'hanning', hamming: 'hamming', rectangular: 'rectangular', blackman: 'blackman' };
  const window = windows[f.windowType];
  if (!window) throw new LikenessError('E_MODEL', `window type "${f.windowType}" is not supported`);
  return {
    sampleRate: 16000,
    numBins: f.bins,
    frameLengthMs: f.frameLengthMs,
    frameShiftMs: f.frameShiftMs,
    window,
    scale: f.int16Scale ? 32768 : 1,
    removeDcOffset: f.removeDcOffset,
    lowFreq: f.lowFreq,
  };
}

interface PlannedWindow {
  start: number;
  end: number;
  speechSeconds: number;
  /** Sample ranges [from, to) of the signal that make the window. */
  pieces: [number, number][];
}

/**
 * Windows of `win` seconds of speech every `hop` seconds of speech, laid over the speech segments as if the pauses
 * between them were cut out. The last window is aligned to the end of the speech so that no speech is left out.
 * With `maxPause`, a pause longer than that many seconds ends a run of speech and no window spans two runs (a run
 * shorter than `minSpeech` gives no window), so a window does not mix two speakers who take turns with a pause.
 */
export function planWindows(
  segs: SpeechSegment[],
  offset: number,
  nSamples: number,
  win: number,
  hop: number,
  minSpeech: number,
  maxPause = Infinity,
): PlannedWindow[] {
  if (Number.isFinite(maxPause) && segs.length > 1) {
    const out: PlannedWindow[] = [];
    let run: SpeechSegment[] = [];
    for (const s of segs) {
      if (run.length > 0 && s.start - run[run.length - 1]!.end > maxPause) {
        out.push(...planWindows(run, offset, nSamples, win, hop, minSpeech));
        run = [];
      }
      run.push(s);
    }
    out.push(...planWindows(run, offset, nSamples, win, hop, minSpeech));
    return out;
  }
  const ranges: [number, number][] = [];
  for (const s of segs) {
    const a = Math.max(0, Math.round((s.start - offset) * 16000));
    const b = Math.min(nSamples, Math.round((s.end - offset) * 16000));
    if (b > a) ranges.push([a, b]);
  }
  const total = ranges.reduce((t, [a, b]) => t + b - a, 0);
  const W = Math.round(win * 16000);
  const H = Math.round(hop * 16000);
  if (total < minSpeech * 16000) return [];
  const starts: number[] = [];
  if (total <= W) starts.push(0);
  else {
    for (let s = 0; s + W <= total; s += H) starts.push(s);
    if (starts[starts.length - 1]! + W < total) starts.push(total - W);
  }
  return starts.map((s) => {
    const pieces = sliceSpeech(ranges, s, Math.min(total, s + W));
    const len = pieces.reduce((t, [a, b]) => t + b - a, 0);
    return { start: offset + pieces[0]![0] / 16000, end: offset + pieces[pieces.length - 1]![1] / 16000, speechSeconds: len / 16000, pieces };
  });
}


