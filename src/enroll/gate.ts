import { LikenessError, isLikenessError } from '../errors';
import type { FaceAnalyzer } from '../face/analyzer';
import { QUALITY_LIMITS } from '../face/quality';
import { decodeAudio, type AudioSignal } from '../media/audio';
import { audioFingerprint, type AudioFingerprint } from '../media/audio-fingerprint';
import { stillFaceHashes, visualFingerprint } from '../face/fingerprint';
import { bundleFingerprints } from '../match/origins';
import type { Fingerprint } from '../match/origin-index';
import type { EnrollItem } from '../match/registry';
import type { JsonValue, NewArtifact } from '../store/types';
import type { Face, FaceDetection, QualityReason } from '../types';
import type { VoiceEmbedder } from '../voice/embed';
import { MediaKind, probeInput, type ProbedMedia } from '../media/kind';
import { analyseReferenceVideo } from './video-reference';
import { sha256File } from '../media/gate';
import { resolveLimits, type MediaLimits } from '../media/limits';
import { ANALYSIS_MAX_SIDE, decodeImageScaled, encodeJpeg } from '../media/image';
import { cropAround } from '../scan/track';
import { internalError } from '../errors';
import { degeneracy, degenerateTemplateError } from '../kernels/vector';

/** Largest side of the reference thumbnail stored with each enrolled face (pixels). */
export const THUMBNAIL_SIZE = 96;
/** JPEG quality of the reference thumbnail (a few kB at 96 px). */
const THUMBNAIL_QUALITY = 80;

/** Least net speech a voice reference must hold, in seconds. */
export const MIN_ENROLL_SPEECH_SECONDS = 3;

/** Face templates taken from a reference video: the best face in each of this many equal stretches of the person's time on screen. */
export const VIDEO_REFERENCE_FACES = 3;

/** Face quality reasons that reject a reference (a reference must be good; a scan only reports). */
const REJECTING: QualityReason[] = ['small', 'blurred', 'pose'];

/** An accepted reference, ready to write. */
export interface AcceptedItem {
  file: string;
  /** Position of the file in the list given to {@link gateReferences} (a video gives two items of one input). */
  input?: number;
  modality: 'face' | 'voice';
  quality: JsonValue;
  item: EnrollItem;
}

/** A rejected reference with its code and a reason a person can act on. */
export interface RejectedItem {
  file: string;
  code: string;
  reason: string;
}

/** Options of the enrollment gate. */
export interface GateOptions {
  /** Take the largest face when an image holds several (else the image is rejected). */
  largest?: boolean;
  /** Limits every reference is checked against. */
  limits?: Partial<MediaLimits>;
}

/** The pipelines the gate runs; the voice one is created only when a voice reference shows up. */
export interface GatePipelines {
  face: FaceAnalyzer;
  voice: () => Promise<VoiceEmbedder>;
}


/** A note on an accepted reference (e.g. a video whose voice was not enrolled). */
export interface GateNote {
  file: string;
  note: string;
}

/**
 * Runs each reference through its pipeline and the enrollment gate: images need exactly one usable face (or
 * `largest`), of enough size, sharpness and a near-frontal pose; audio needs at least 3 s of net speech from one
 * speaker. A video gives the face of the person on screen most (or the largest, with `largest`; E_QUALITY when two
 * compete, see {@link analyseReferenceVideo}) and its voice only when one speaker dominates the soundtrack (else a note).
 */
export async function gateReferences(files: string[], p: GatePipelines, opts: GateOptions = {}): Promise<{ accepted: AcceptedItem[]; rejected: RejectedItem[]; notes: GateNote[] }> {
  const accepted: AcceptedItem[] = [];
  const rejected: RejectedItem[] = [];
  const notes: GateNote[] = [];
  for (const [input, file] of files.entries()) {
    try {
      const probed = await probeInput(file, { limits: opts.limits });
      const { kind } = probed;
      if (kind === 'video') {
        const v = await gateVideo(file, probed, p, opts);
        accepted.push(...v.items.map((it) => ({ ...it, input })));
        notes.push(...v.notes.map((note) => ({ file, note })));
      } else accepted.push({ ...(kind === 'image' ? await gateFace(file, p.face, opts) : await gateVoice(file, kind, await p.voice(), opts)), input });
    } catch (e) {
      // An abort stops the enrollment; anything else rejects this reference (a bug as E_INTERNAL, naming the file).
      if (isLikenessError(e) && e.code === 'E_ABORTED') throw e;
      const err = internalError(e, file);
      rejected.push({ file, code: err.code, reason: err.message });
    }
  }
  return { accepted, rejected, notes };
}

/**
 * A reference video: the chosen person's best faces spread over time (each through the photo quality gate) as face
 * templates, and the dominant speaker's speech as voice templates; both under the video file's sha256.
 */
async function gateVideo(file: string, probed: ProbedMedia, p: GatePipelines, opts: GateOptions): Promise<{ items: AcceptedItem[]; notes: string[] }> {
  const ref = await analyseReferenceVideo(file, p, {
    ...(opts.largest ? { largest: true } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(probed.info ? { info: probed.info } : {}),
    hasAudio: probed.audioStreams.length > 0,
  });
  if (ref.faceProblem && ref.faceProblem.code !== 'E_NO_FACE') throw ref.faceProblem;
  const sha256 = await sha256File(file);
  const items: AcceptedItem[] = [];
  const notes = [...ref.notes];
  if (ref.chosen !== null) {
    const embedded = ref.frames.flatMap((f) => (f.face ? [{ time: f.time, face: f.face, context: f.context }] : []));
    // As for photos: a face of too low quality, or whose embedding is degenerate (junk), is not a template.
    const junk = await p.face.junkSet();
    const good = embedded.filter((f) => !f.face.quality.reasons.some((r) => REJECTING.includes(r)) && degeneracy(f.face.embedding, junk) === null);
    if (good.length === 0) {
      const bestFrame = bestOf(embedded);
      const reasons = bestFrame.face.quality.reasons.filter((r) => REJECTING.includes(r));
      const why = reasons.length ? describeFaceRejection(bestFrame.face, reasons) : 'its embedding is degenerate (what the model makes of junk)';
      throw new LikenessError('E_QUALITY', `no sampled frame of the person on screen passes the quality gate (best at ${bestFrame.time.toFixed(2)} s: ${why})`);
    }
    const picked = spreadBest(good, VIDEO_REFERENCE_FACES);
    const person = ref.people[ref.chosen]!;
    const quality: JsonValue = {
      kind: 'video',
      chosenBy: opts.largest ? 'largest' : 'frames',
      people: ref.people.length,
      frames: person.frames,
      meanArea: Math.round(person.meanArea),
      onScreen: [round(person.start), round(person.end)],
      faces: picked.map((f) => ({ time: round(f.time), score: round(f.face.quality.score) })),
      voice: ref.voice.status,
    };
    items.push({
      file,
      modality: 'face',
      quality,
      item: {
        sha256,
        modality: 'face',
        quality,
        templates: picked.map((f) => ({ modelId: f.face.modelId, vector: f.face.embedding, quality: f.face.quality.score })),
        // The thumbnail is the best template's face, cut with the same margin as a photo reference's.
        artifacts: [{ kind: 'thumbnail', data: new Uint8Array(await encodeJpeg(bestOf(picked).context, THUMBNAIL_SIZE, THUMBNAIL_QUALITY)) }],
      },
    });
  } else notes.push('no face in the video: only its voice can be enrolled');
  if (ref.voice.status === 'enrolled' && ref.voice.signal) {
    const ve = await p.voice();
    const v = await ve.embed(ref.voice.signal, ref.voice.turns.flatMap((t) => t.speech));
    // Degenerate windows (what the model makes of junk) are dropped, as for recordings.
    const junk = await ve.junkSet();
    const windows = v.windows.filter((w) => degeneracy(w.embedding, junk) === null);
    if (v.speechSeconds < MIN_ENROLL_SPEECH_SECONDS || windows.length === 0) {
      notes.push(`voice not enrolled: too little net speech from the main speaker (${v.speechSeconds.toFixed(1)} s, need ${MIN_ENROLL_SPEECH_SECONDS} s)`);
    } else {
      const quality: JsonValue = { kind: 'video', speechSeconds: round(v.speechSeconds), windows: windows.length, ...(windows.length < v.windows.length ? { junkWindows: v.windows.length - windows.length } : {}), share: ref.voice.share, speakers: ref.voice.speakers };
      items.push({ file, modality: 'voice', quality, item: { sha256, modality: 'voice', quality, templates: windows.map((w) => ({ modelId: w.modelId, vector: w.embedding, quality: 1 })) } });
    }
  }
  if (items.length === 0) {
    throw new LikenessError(ref.faceProblem?.code ?? 'E_NO_SPEECH', `nothing to enroll: ${[ref.faceProblem?.message, ...notes].filter(Boolean).join('; ')}`);
  }
  // One fingerprint artefact for the video (its reference row): the chosen person's face hashes over time, and the
  // soundtrack's audio fingerprint, so a reuse of either part of the clip is found with its offset.
  const prints: Fingerprint[] = [];
  if (ref.chosen !== null && ref.frames.length > 0) prints.push(visualFingerprint(ref.frames.map((f) => ({ time: f.time, ...f.hash }))));
  if (ref.voice.signal) prints.push(await recordingFingerprint(ref.voice.signal));
  const first = items[0]!.item;
  if (prints.length > 0) first.artifacts = [...(first.artifacts ?? []), { kind: 'fingerprint', data: bundleFingerprints(prints) }];
  return { items, notes };
}

/** The item of highest face quality. */
function bestOf<T extends { face: Face }>(items: readonly T[]): T {
  return items.reduce((a, b) => (b.face.quality.score > a.face.quality.score ? b : a));
}

/** The best-quality item in each of `n` equal stretches of the items' time span (fewer when stretches are empty). */
function spreadBest<T extends { time: number; face: Face }>(items: readonly T[], n: number): T[] {
  const t0 = items[0]!.time;
  const span = items[items.length - 1]!.time - t0;
  const out: T[] = [];
  for (let k = 0; k < n; k++) {
    const lo = t0 + (span * k) / n;
    const hi = t0 + (span * (k + 1)) / n;
    const bin = items.filter((f) => f.time >= lo && (k === n - 1 ? f.time <= hi : f.time < hi));
    const top = bin.sort((a, b) => b.face.quality.score - a.face.quality.score)[0];
    if (top && !out.includes(top)) out.push(top);
  }
  return out;
}

async function gateFace(file: string, fa: FaceAnalyzer, opts: GateOptions): Promise<AcceptedItem> {
  const { faces } = await fa.analyze(file);
  if (faces.length === 0) throw new LikenessError('E_NO_FACE', 'no face found');
  if (faces.length > 1 && !opts.largest) {
    throw new LikenessError('E_QUALITY', `${faces.length} faces and no hint which one: crop the image or pass --largest`);
  }
  const face = faces[0]!;
  const bad = face.quality.reasons.filter((r) => REJECTING.includes(r));
  if (bad.length) throw new LikenessError('E_QUALITY', describeFaceRejection(face, bad));
  // A face whose embedding is degenerate (non-finite, zero, or what the model makes of a flat or noise crop) is junk.
  const d = degeneracy(face.embedding, await fa.junkSet());
  if (d) throw degenerateTemplateError('face rejected: its embedding', d);
  const quality: JsonValue = { ...face.quality, reasons: face.quality.reasons, faces: faces.length };
  return {
    file,
    modality: 'face',
    quality,
    item: {
      sha256: await sha256File(file),
      modality: 'face',
      quality,
      templates: [{ modelId: face.modelId, vector: face.embedding, quality: face.quality.score }],
      artifacts: await faceArtifacts(file, face.detection, fa, opts),
    },
  };
}

/**
 * What is kept of an enrolled photo besides its templates: the face as a JPEG of at most {@link THUMBNAIL_SIZE} px
 * (the face box with a margin, as the scan's evidence crops are cut), so a report can show the reference beside what
 * a scan found; and the perceptual hashes of the face in its context ({@link stillFaceHashes}), so a scan can tell a reuse of
 * this photo from another photo of the same person. Biometric data: the store keeps both encrypted like the templates
 * and deletes them with them.
 */
async function faceArtifacts(file: string, detection: FaceDetection, fa: FaceAnalyzer, opts: GateOptions): Promise<NewArtifact[]> {
  const limits = resolveLimits(opts.limits);
  // Decoded again at the analysis size: the analyzer keeps no pixels, and the detection is in the source image's pixels.
  const { image, sourceWidth } = await decodeImageScaled(file, { maxSide: ANALYSIS_MAX_SIDE, maxPixels: limits.maxPixels, maxFileBytes: limits.maxFileBytes });
  const d = scaleDetection(detection, image.width / sourceWidth);
  const thumbnail = new Uint8Array(await encodeJpeg(cropAround(image, d.box, THUMBNAIL_SIZE), THUMBNAIL_SIZE, THUMBNAIL_QUALITY));
  const hashes = await stillFaceHashes(image, d, (framed) => fa.detect(framed));
  const fingerprint = bundleFingerprints([visualFingerprint(hashes.map((h) => ({ time: 0, ...h })), { still: true })]);
  return [
    { kind: 'thumbnail', data: thumbnail },
    { kind: 'fingerprint', data: fingerprint },
  ];
}

/** A detection in the pixels of the same image scaled by `k`. */
function scaleDetection(d: FaceDetection, k: number): FaceDetection {
  if (k === 1) return d;
  const b = d.box;
  return { ...d, box: { x: b.x * k, y: b.y * k, w: b.w * k, h: b.h * k }, landmarks: d.landmarks.map(([x, y]) => [x * k, y * k]) as FaceDetection['landmarks'] };
}

/**
 * Seconds of a reference recording that are fingerprinted (from its start): 100 sub-fingerprints a second, about
 * 4 kB per 10 s, so ten minutes stay under the store's artefact size cap. A reuse of a later part is not seen.
 */
export const MAX_FINGERPRINT_SECONDS = 600;

/** The audio fingerprint of a reference recording or soundtrack (its first {@link MAX_FINGERPRINT_SECONDS} s). */
async function recordingFingerprint(signal: AudioSignal): Promise<AudioFingerprint> {
  const n = Math.min(signal.samples.length, MAX_FINGERPRINT_SECONDS * signal.sampleRate);
  return audioFingerprint({ ...signal, samples: signal.samples.subarray(0, n) });
}

/** A recording's `fingerprint` artefact. */
async function voiceArtifacts(signal: AudioSignal): Promise<NewArtifact[]> {
  return [{ kind: 'fingerprint', data: bundleFingerprints([await recordingFingerprint(signal)]) }];
}

function describeFaceRejection(f: Face, reasons: QualityReason[]): string {
  const q = f.quality;
  const parts = reasons.map((r) =>
    r === 'small'
      ? `too small (${q.interocular.toFixed(0)} px between the eyes, need ${QUALITY_LIMITS.minInterocular})`
      : r === 'blurred'
        ? `blurred (sharpness ${q.sharpness.toFixed(0)}, need ${QUALITY_LIMITS.minSharpness})`
        : `extreme pose (yaw ${q.yaw.toFixed(0)}°, pitch ${q.pitch.toFixed(0)}°)`,
  );
  return `face rejected: ${parts.join('; ')}; use a sharper, larger, frontal photo`;
}

async function gateVoice(file: string, kind: MediaKind, ve: VoiceEmbedder, opts: GateOptions): Promise<AcceptedItem> {
  const signal = await decodeAudio(file, { limits: opts.limits });
  const v = await ve.embed(signal);
  if (v.speechSeconds < MIN_ENROLL_SPEECH_SECONDS || v.windows.length === 0 || !v.embedding) {
    throw new LikenessError('E_NO_SPEECH', `too little net speech (${v.speechSeconds.toFixed(1)} s, need ${MIN_ENROLL_SPEECH_SECONDS} s)`);
  }
  // Degenerate windows (silence, a tone, noise: what the model makes of junk) are dropped; a recording that is
  // mostly junk, or whose mean is, is rejected.
  const junk = await ve.junkSet();
  const mean = degeneracy(v.embedding, junk);
  if (mean) throw degenerateTemplateError('voice rejected: the recording\'s embedding', mean);
  const windows = v.windows.filter((w) => degeneracy(w.embedding, junk) === null);
  if (windows.length * 2 < v.windows.length || windows.length === 0) {
    const d = v.windows.map((w) => degeneracy(w.embedding, junk)).find((x) => x !== null)!;
    throw degenerateTemplateError(`voice rejected: ${v.windows.length - windows.length} of ${v.windows.length} windows are degenerate; the first`, d);
  }
  const spread = windowSpread(windows.map((w) => w.embedding), v.embedding);
  // Windows of one speaker stay close to their mean; a second voice pulls some far away. The limit is loose on
  // purpose (the baseline embedder is noisy) and catches clear two-speaker recordings only.
  if (windows.length >= 3 && spread.min < (v.isBaseline ? 0.55 : 0.3)) {
    throw new LikenessError('E_QUALITY', `several speakers: some stretches do not match the rest (cosine ${spread.min.toFixed(2)}); use a recording of the performer alone`);
  }
  const quality: JsonValue = { speechSeconds: round(v.speechSeconds), windows: windows.length, ...(windows.length < v.windows.length ? { junkWindows: v.windows.length - windows.length } : {}), minWindowCosine: round(spread.min), kind };
  return {
    file,
    modality: 'voice',
    quality,
    item: {
      sha256: await sha256File(file),
      modality: 'voice',
      quality,
      templates: windows.map((w) => ({ modelId: w.modelId, vector: w.embedding, quality: 1 })),
      artifacts: await voiceArtifacts(signal),
    },
  };
}

function windowSpread(windows: Float32Array[], mean: Float32Array): { min: number } {
  let min = 1;
  for (const w of windows) {
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i]! * mean[i]!;
    min = Math.min(min, s);
  }
  return { min };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
