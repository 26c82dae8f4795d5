import type { AudioSignal } from '../media/audio';
import { dot } from '../kernels/vector';
import type { SpeechSegment } from './vad';
import { gather, sliceSpeech } from './speech-ranges';

/** What speaker-turn detection needs from a voice embedder (any {@link VoiceEmbedder} model). */
export interface TurnEmbedder {
  /** L2-normalised embedding of a whole clip of speech. */
  embedSamples(samples: Float32Array): Promise<Float32Array>;
}

/** One speaker turn: a stretch of speech with no detected change of speaker. */
export interface SpeakerTurn {
  /** Start and end (seconds, on the signal's timeline) of the turn's speech. */
  start: number;
  end: number;
  /** The speech segments inside the turn (clipped to it). */
  speech: SpeechSegment[];
  /** Seconds of speech in the turn. */
  speechSeconds: number;
}

/** Options of {@link speakerTurns}. */
export interface SpeakerTurnOptions {
  /** Length of the short embeddings compared either side of a candidate change (seconds of speech, default 1.5). */
  windowSeconds?: number;
  /** Step between candidate change points (seconds of speech, default 0.25). */
  stepSeconds?: number;
  /** Cosine distance (1 - cosine) between the two sides above which a change of speaker is declared (default 0.4). */
  threshold?: number;
  /** A pause in speech at least this long ends a turn (seconds, default 1). */
  maxPauseSeconds?: number;
  /** A detected change within this many seconds of a pause moves to the pause (default 0.5). */
  snapSeconds?: number;
  /**
   * Speech this close to a detected change (seconds either side, default 0.5) is given to neither turn: a change is
   * located to within about one window step and the speech right at it is the least certain.
   */
  marginSeconds?: number;
}

/** Change-detection defaults (measured on composed LibriSpeech turns, see test/voice/turns-shared.test.ts). */
export const TURN_DEFAULTS: Required<SpeakerTurnOptions> = { windowSeconds: 1.5, stepSeconds: 0.25, threshold: 0.4, maxPauseSeconds: 1, snapSeconds: 0.5, marginSeconds: 0.5 };

const SR = 16000;

/**
 * Splits the speech of a 16 kHz signal at changes of speaker, so that each turn can be scored on its own and a match
 * never spans two speakers. Short embeddings (`windowSeconds` of speech) are taken every `stepSeconds` along the speech
 * (pauses cut out); at each step the embedding of the speech just before is compared with the one just after, and a
 * local maximum of their cosine distance above `threshold` is a change. Pauses of `maxPauseSeconds` or more also end a
 * turn, a change found near a shorter pause moves onto it, and the speech within
 * `marginSeconds` of a change belongs to neither side. Works with any embedder (the model only supplies the
 * short embeddings); turns are returned in time order and cover all the speech.
 */
export async function speakerTurns(embedder: TurnEmbedder, signal: AudioSignal, speech: readonly SpeechSegment[], opts: SpeakerTurnOptions = {}): Promise<SpeakerTurn[]> {
  const o = { ...TURN_DEFAULTS, ...opts };
  const offset = signal.offset ?? 0;
  const n = signal.samples.length;
  // Speech as sample ranges [a, b) of the signal, in order, split into blocks at long pauses.
  const ranges: [number, number][] = [];
  for (const s of [...speech].sort((x, y) => x.start - y.start)) {
    const a = Math.max(0, Math.round((s.start - offset) * SR));
    const b = Math.min(n, Math.round((s.end - offset) * SR));
    if (b <= a) continue;
    const last = ranges[ranges.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else ranges.push([a, b]);
  }
  const blocks: [number, number][][] = [];
  for (const r of ranges) {
    const cur = blocks[blocks.length - 1];
    const prev = cur?.[cur.length - 1];
    if (cur && prev && r[0] - prev[1] < o.maxPauseSeconds * SR) cur.push(r);
    else blocks.push([r]);
  }
  const turns: SpeakerTurn[] = [];
  for (const block of blocks) {
    const cuts = await changePoints(embedder, signal.samples, block, o);
    const m = Math.round(o.marginSeconds * SR);
    let from = -Infinity;
    for (const cut of [...cuts, Infinity]) {
      const pieces = clip(block, from + m, cut - m);
      from = cut;
      if (pieces.length === 0) continue;
      const segs = pieces.map(([a, b]) => ({ start: offset + a / SR, end: offset + b / SR }));
      turns.push({ start: segs[0]!.start, end: segs[segs.length - 1]!.end, speech: segs, speechSeconds: pieces.reduce((t, [a, b]) => t + b - a, 0) / SR });
    }
  }
  return turns;
}

/** Change points (sample positions of the signal) inside one block of speech. */
async function changePoints(embedder: TurnEmbedder, x: Float32Array, block: [number, number][], o: Required<SpeakerTurnOptions>): Promise<number[]> {
  const total = block.reduce((t, [a, b]) => t + b - a, 0);
  const W = Math.round(o.windowSeconds * SR);
  const H = Math.max(1, Math.round(o.stepSeconds * SR));
  if (total < 2 * W) return [];
  const perWindow = Math.max(1, Math.round(W / H));
  // Embeddings of the windows starting at k*H of speech time.
  const emb: Float32Array[] = [];
  for (let s = 0; s + W <= total; s += H) emb.push(Float32Array.from(await embedder.embedSamples(gather(x, sliceSpeech(block, s, s + W)))));
  // d[j]: distance between the window ending at (j + perWindow) * H and the one starting there.
  const d: number[] = [];
  for (let j = 0; j + perWindow < emb.length; j++) d.push(1 - dot(emb[j]!, 0, emb[j + perWindow]!, 0, emb[j]!.length));
  const cuts: number[] = [];
  const radius = Math.max(1, Math.round(perWindow / 2));
  for (let j = 0; j < d.length; j++) {
    if (d[j]! <= o.threshold) continue;
    let peak = true;
    for (let k = Math.max(0, j - radius); k <= Math.min(d.length - 1, j + radius) && peak; k++) {
      if (d[k]! > d[j]! || (d[k] === d[j] && k < j)) peak = false;
    }
    if (!peak) continue;
    cuts.push(snap(block, toSample(block, (j + perWindow) * H), o.snapSeconds * SR));
  }
  return cuts;
}

/** Moves a change point onto the nearest pause boundary within `reach` samples (the end of the speech before it). */
function snap(block: [number, number][], at: number, reach: number): number {
  let best = at;
  let bestDist = reach;
  for (let i = 1; i < block.length; i++) {
    const gapStart = block[i - 1]![1];
    const gapEnd = block[i]![0];
    const dist = at < gapStart ? gapStart - at : at > gapEnd ? at - gapEnd : 0;
    if (dist <= bestDist) {
      best = gapEnd;
      bestDist = dist;
    }
  }
  return best;
}

/** The signal sample at speech time `t` (samples of speech counted from the block start). */
function toSample(block: [number, number][], t: number): number {
  let acc = 0;
  for (const [a, b] of block) {
    if (t < acc + b - a) return a + t - acc;
    acc += b - a;
  }
  return block[block.length - 1]![1];
}

/** The parts of the block's ranges between signal samples [from, to). */
function clip(block: [number, number][], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of block) {
    const lo = Math.max(a, from);
    const hi = Math.min(b, to);
    if (hi > lo) out.push([lo, hi]);
  }
  return out;
}


