import * as path from 'path';
import { isLikenessError } from '../errors';
import { decodeAudio } from '../media/audio';
import type { VoiceEmbedder } from '../voice/embed';
import { readPairsCsv } from './csv';
import { scorePairs } from './score-pairs';
import { VerificationMetrics, minDcf, verificationMetrics } from './metrics';
import { invalid } from '../validate';

/** Result of `likeness eval voices`. Rates are fractions in [0, 1]. */
export interface VoiceEvalResult extends VerificationMetrics {
  trials: number;
  scored: number;
  failed: number;
  failures: { file: string; code: string }[];
  /** Minimum normalised detection cost at P_target = 0.01. */
  minDcf01: number;
  model: string;
  /** Processing seconds (decode + speech detection + features + embedding) per second of audio. */
  rtf: number;
  /** The same metrics over the trials with at least `minSpeechSeconds` of detected speech on both sides. */
  longSpeech: { minSpeechSeconds: number; trials: number; eer: number; auc: number };
}

/** Speech on both sides of a trial for {@link VoiceEvalResult.longSpeech} (seconds). */
export const LONG_SPEECH_SECONDS = 1;

/** Lowest possible cosine: a trial with an unusable file scores this (a miss if same-speaker, a reject if not). */
export const FAILED_TRIAL_SCORE = -1;

/** A trial path, optionally naming a segment: `path/to/file.flac#12.5-20` (seconds). */
export interface AudioRef {
  file: string;
  start?: number;
  end?: number;
}

/** Splits `file#START-END`; E_INPUT when the segment is malformed or empty. */
export function parseAudioRef(ref: string): AudioRef {
  const m = /^(.*)#([0-9]*\.?[0-9]+)-([0-9]*\.?[0-9]+)$/.exec(ref);
  if (!m) {
    if (ref.includes('#') && /#[0-9.]*-[0-9.]*$/.test(ref)) throw invalid(`bad segment in "${ref}": expected FILE#START-END in seconds`);
    return { file: ref };
  }
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!(end > start)) throw invalid(`bad segment in "${ref}": END must be greater than START`);
  return { file: m[1]!, start, end };
}

/**
 * Scores every trial of a `fileA,fileB,same` list with the speech-weighted voice embedding of each file (each
 * unique file or segment decoded and embedded once). Failed trials keep the lowest score; nothing is dropped.
 */
export async function evalVoiceTrials(
  embedder: VoiceEmbedder,
  trialsFile: string,
  root: string,
  onProgress?: (done: number, total: number) => void,
): Promise<VoiceEvalResult & { scores: { same: boolean; score: number }[] }> {
  const trials = readPairsCsv(trialsFile);
  const refs = Array.from(new Set(trials.flatMap((p) => [p.fileA, p.fileB])));
  const embeddings = new Map<string, Float32Array | { code: string }>();
  const speechSeconds = new Map<string, number>();
  let busy = 0;
  let audio = 0;
  for (const [i, ref] of refs.entries()) {
    const t = performance.now();
    try {
      const r = parseAudioRef(ref);
      const opts = r.start === undefined ? {} : { start: r.start, duration: r.end! - r.start };
      const signal = await decodeAudio(path.resolve(root, r.file), opts);
      audio += signal.samples.length / signal.sampleRate;
      const e = await embedder.embed(signal);
      embeddings.set(ref, e.embedding ?? { code: 'E_NO_SPEECH' });
      speechSeconds.set(ref, e.speechSeconds);
    } catch (e) {
      if (!isLikenessError(e)) throw e;
      embeddings.set(ref, { code: e.code });
    }
    busy += performance.now() - t;
    onProgress?.(i + 1, refs.length);
  }
  const { genuine, impostor, scores, failed, failures } = scorePairs(trials, embeddings, FAILED_TRIAL_SCORE);
  const long = trials.map((p) => Math.min(speechSeconds.get(p.fileA) ?? 0, speechSeconds.get(p.fileB) ?? 0) >= LONG_SPEECH_SECONDS);
  const longGenuine = scores.filter((s, i) => long[i] && s.same).map((s) => s.score);
  const longImpostor = scores.filter((s, i) => long[i] && !s.same).map((s) => s.score);
  const longMetrics = verificationMetrics(longGenuine, longImpostor);
  return {
    trials: trials.length,
    scored: trials.length - failed,
    failed,
    failures,
    ...verificationMetrics(genuine, impostor),
    minDcf01: minDcf(genuine, impostor, 0.01),
    model: embedder.modelId,
    rtf: audio > 0 ? busy / 1000 / audio : 0,
    longSpeech: { minSpeechSeconds: LONG_SPEECH_SECONDS, trials: longGenuine.length + longImpostor.length, eer: longMetrics.eer, auc: longMetrics.auc },
    scores,
  };
}
