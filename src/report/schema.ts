import type { Box } from '../types';
import { invalid } from '../validate';

/** Version of the scan result JSON schema; bumped on any incompatible change. */
export const SCAN_SCHEMA_VERSION = 2;

/** Decision levels, best first. */
export type Decision = 'match' | 'possible' | 'none';

/**
 * A stretch of media where a performer was matched. Images have `start = end = 0` and a `box`.
 *
 * Video faces: `start` is the time of the first sampled frame the face was seen in, `end` the time of the last one
 * plus one sampling interval (1/fps), so a face on screen for [1 s, 4 s) sampled at 2 fps gives `{start: 1, end: 4}`;
 * both are accurate to one sampling interval. A gap of more than 1.5 intervals without the face ends a segment.
 * Voices: one speaker turn whose embedding matched (speech split at changes of speaker; the speech within 0.5 s of a
 * change is left out), from the turn's first speech to its last; turns of one performer under 1.05 s apart are joined.
 */
export interface MatchSegment {
  /** Seconds from the media start. */
  start: number;
  end: number;
  /** Face box in pixels of the frame (faces only; for a track, the box of its best frame). */
  box?: Box;
}

/** Evidence a person can check: the moment and, for faces, a small JPEG crop. */
export interface MatchEvidence {
  /** Seconds from the media start of the best-scoring observation. */
  time: number;
  /** Face crop as a data URL (`data:image/jpeg;base64,...`), at most ~160 px; faces only. */
  faceCrop?: string;
  /**
   * Video faces (schema 2): crops of the best-matching track where it was first seen, best seen (`faceCrop`) and last
   * seen, in time order; one entry when they are the same observation.
   */
  faceCrops?: { role: 'first' | 'best' | 'last'; time: number; crop: string }[];
  /**
   * The matched speech to listen to (schema 2): Ogg Opus, mono, about 32 kb/s, at most 10 s from the best turn's start,
   * as a data URL (`data:audio/ogg;base64,...`); voices only.
   */
  voiceClip?: string;
}

/** One performer matched by one modality in one media file. */
export interface ScanMatch {
  performerId: string;
  name: string;
  modality: 'face' | 'voice';
  /**
   * Raw cosine of the best observation: for a video face, of the face track's identity embedding (quality-weighted
   * mean of its three best faces); for a voice, of the best speech window.
   */
  score: number;
  /** Calibrated probability of the same person, 0..1. */
  confidence: number;
  decision: Exclude<Decision, 'none'>;
  segments: MatchSegment[];
  evidence: MatchEvidence;
  /** Model that made the embeddings. */
  modelId: string;
}

/**
 * How a modality's matches were decided in one scan: a score at or above `thresholds.match` is `match`, at or above
 * `thresholds.possible` is `possible`. The thresholds are read from the model's calibration so that a probe of someone
 * not enrolled is reported as `match` (or `possible`) to anyone in a gallery of `comparisons` templates with at most the
 * given `falseMatchRate` per search.
 */
export interface DecisionRule {
  modality: 'face' | 'voice';
  modelId: string;
  /** Per-search false-match rates the thresholds hold. */
  falseMatchRate: { match: number; possible: number };
  /** Score thresholds. */
  thresholds: { match: number; possible: number };
  /** Independent impostor comparisons one search makes (the gallery size it was decided for). */
  comparisons: number;
}

/**
 * The consent record of a matched performer at scan time: `granted` (a record that holds), `not_recorded` (enrolled
 * explicitly without consent). Performers whose consent `expired` or was `withdrawn` are never reported as matches.
 */
export interface ReportConsent {
  status: 'granted' | 'not_recorded' | 'expired' | 'withdrawn';
  grantedBy?: string;
  grantedAt?: string;
  scope?: string;
  expiresAt?: string;
  documentRef?: string;
  withdrawnAt?: string;
}

/** A performer matched in a result, with their consent record (schema 2). */
export interface ReportPerformer {
  performerId: string;
  name: string;
  consent: ReportConsent;
}

/** One enrolled reference's thumbnail: the face as enrolled, a JPEG of at most 96 px as a data URL. */
export interface ReferenceThumbnail {
  /** sha256 of the reference media it was cut from. */
  referenceHash: string;
  /** `data:image/jpeg;base64,...` */
  thumbnail: string;
}

/**
 * A matched performer's enrolled reference thumbnails (schema 2), for the evidence page. Biometric data: the CLI puts
 * them only into what the HTML / PDF report is rendered from (`--report`), never into stdout or `--json` output, and
 * the page's JSON sha256 is that of the JSON without them. `thumbnails` is empty for a performer whose face references
 * were enrolled before thumbnails were kept (the page says "no thumbnail").
 */
export interface ReportReferenceThumbnails {
  performerId: string;
  /** In enrollment order, at most 4. */
  thumbnails: ReferenceThumbnail[];
}

/** Face and voice of one performer coinciding in time, with a fused confidence. */
export interface ScanVerdict {
  performerId: string;
  name: string;
  modalities: ('face' | 'voice')[];
  /** Fused confidence (independent-evidence combination of the per-modality confidences), 0..1. */
  confidence: number;
  decision: Exclude<Decision, 'none'>;
  /** Where both matched at once (empty when only one modality matched). */
  overlaps: { start: number; end: number }[];
}

/** What was scanned. */
export interface ScanMedia {
  /** The path as given (or a label for buffers and streams). */
  path: string;
  sha256: string;
  kind: 'image' | 'audio' | 'video';
  bytes: number;
  /** Seconds that really decoded (audio and video): the longest scanned stream, never a header's claim. */
  duration?: number;
  /** Seconds the container header declares, when it differs from what decoded by more than a frame. */
  declaredDuration?: number;
  /** True when the file ends before its own structure says it should; what decoded was scanned. */
  truncated?: boolean;
  width?: number;
  height?: number;
  /** Streams scanned, by container index (audio and video). */
  streams?: { index: number; type: 'audio' | 'video'; codec: string; decodedSeconds?: number; error?: { code: string; message: string } }[];
}

/** Work counters of one scan (absent fields: the stage did not run). */
export interface ScanStats {
  /** Video instants sampled (every 1/fps s); `framesUnchanged` of them were not analysed again. */
  sampledFrames?: number;
  /** Face detections over all frames. */
  facesSeen?: number;
  /** Of those, faces embedded (the tracker follows unchanged faces without a new embedding). */
  facesEmbedded?: number;
  /** Sampled instants not analysed: unchanged since the last analysed frame while nobody was on screen (blank or static video). */
  framesUnchanged?: number;
  /** Sampled frames so flat (one colour) that no face can be in them: detection did not run. */
  framesFlat?: number;
  /** Face tracks formed. */
  faceTracks?: number;
  /** Seconds of speech found and voice windows embedded. */
  speechSeconds?: number;
  voiceWindows?: number;
  /** Speaker turns scored (speech split at changes of speaker, each turn identified on its own). */
  voiceTurns?: number;
}

/** The result of scanning one input. */
export interface ScanResult {
  media: ScanMedia;
  matches: ScanMatch[];
  verdicts: ScanVerdict[];
  /** Milliseconds per stage (decode, faces, voices, total...). */
  timings: Record<string, number>;
  /** E.g. the baseline voice model in use, frames skipped. */
  warnings: string[];
  /** How much work the scan did (video frames sampled, faces seen and embedded, speech windows); optional. */
  stats?: ScanStats;
  /** Gallery version the scan ran against (for --skip-seen). */
  galleryVersion: number;
  scannedAt: string;
  /** The decision rule per modality searched (schema 2; absent when nothing was searched). */
  decisionRules?: DecisionRule[];
  /** Each matched performer's consent record at scan time (schema 2; absent when nobody matched). */
  performers?: ReportPerformer[];
}

/** An input that could not be scanned; the others go on. */
export interface ScanFailure {
  media: { path: string };
  error: { code: string; message: string };
}

/** An input `likeness scan --skip-seen` did not scan again (its sha256 was scanned under the same gallery and models). */
export interface SkippedInput {
  path: string;
  sha256: string;
  reason: string;
}

/** A model a report's results came from, with the sha256 of its weights (null for a built-in model without a file). */
export interface ReportModel {
  id: string;
  sha256: string | null;
}

/** The file written by `likeness scan --json FILE`. */
export interface ScanReportFile {
  schemaVersion: number;
  /** The tool that wrote the report (schema 2). */
  tool?: { name: string; version: string };
  /** Models used by the results, with their sha256 (schema 2). */
  models?: ReportModel[];
  results: (ScanResult | ScanFailure)[];
  /** With `--skip-seen`: the inputs skipped as already scanned (absent without it). */
  skipped?: SkippedInput[];
  /**
   * The matched performers' enrolled reference thumbnails (schema 2): present only in what an HTML / PDF report is
   * rendered from, never in the JSON the CLI prints or writes (see {@link ReportReferenceThumbnails}).
   */
  referenceThumbnails?: ReportReferenceThumbnails[];
}

/** True when a result is a failure entry. */
export function isScanFailure(r: ScanResult | ScanFailure): r is ScanFailure {
  if (r === null || typeof r !== 'object') throw invalid('isScanFailure needs a scan result object');
  return 'error' in r;
}
