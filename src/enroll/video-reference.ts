import { LikenessError } from '../errors';
import type { FaceAnalyzer } from '../face/analyzer';
import { REFERENCE_VIDEO_FPS, faceHash, type FaceHash } from '../face/fingerprint';
import { decodeAudio, type AudioSignal } from '../media/audio';
import type { MediaInfo } from '../media/ffmpeg';
import type { MediaLimits } from '../media/limits';
import { streamVideoFrames, type VideoFrame } from '../media/video';
import { MAX_UNCHANGED_SECONDS, isFlatFrame, sameFrame } from '../scan/scanner';
import { dot } from '../kernels/vector';
import { FaceTracker, cropAround, patchSignature, regionAround, trackEmbedding, type FaceObservation } from '../scan/track';
import type { Box, Face, FaceDetection, RgbImage } from '../types';
import { gather } from '../voice/speech-ranges';
import { speakerTurns, type SpeakerTurn } from '../voice/turns';
import { detectSpeech, type SpeechSegment } from '../voice/vad';
import type { VoiceEmbedder } from '../voice/embed';

/**
 * Frames sampled per second of a reference video: the rate its fingerprint is taken at (face/fingerprint), which
 * also follows a face well enough to tell who is on screen most; the video is decoded once for both.
 */
export { REFERENCE_VIDEO_FPS };

/**
 * Seconds of a reference video that are sampled (frames and audio); the rest is left out, with a note. Every face
 * sampled keeps its context crop until the person is chosen at the end: at most 120 s x 4 frames x about 110 KB
 * ({@link REFERENCE_CONTEXT_SIZE} px RGB), some 53 MB per person on screen.
 */
export const REFERENCE_VIDEO_MAX_SECONDS = 120;

/**
 * Two people compete for a reference video when the runner-up is on screen in at least this share of the sampled
 * frames the most-seen person is in (or, with `largest`, has at least this share of the largest one's average face
 * area): the video does not say which of them is the performer.
 */
export const COMPETING_TRACK_SHARE = 0.8;

/** The voice of a reference video is enrolled only when one speaker holds at least this share of the attributed speech. */
export const DOMINANT_SPEAKER_SHARE = 0.7;

/**
 * Speaker turns whose embeddings are at least this similar (cosine, average linkage) are one speaker. Measured with the
 * shipped voice model (campplus-zh-en) on espeak-ng voices en-us+m3 and en+f4: whole sentences of one voice 0.87 and
 * up, of the two voices at most 0.57 (test/enroll/speaker-share.test.ts prints them); turns of 1.8 s and more of one
 * voice 0.83 and up, of the two voices at most 0.44 (a one-off run on a composed 50/50 soundtrack). Not measured on
 * real recordings of different people.
 */
export const SAME_SPEAKER_COSINE = 0.65;

/** Largest side, in pixels, of the context crop kept around each sampled face of a reference video. */
export const REFERENCE_CONTEXT_SIZE = 192;

/** Faces of one person seen in different tracks (they left the screen and came back) with at least this cosine are joined. */
const SAME_PERSON_COSINE = 0.55;

/**
 * Speaker turns with less speech than this are not attributed to anyone: their embeddings are noisy (turns of 0.5 s of
 * one voice measured cosine 0.39-0.49 against longer turns of the same voice, in the range of two different voices).
 */
export const MIN_TURN_SPEECH_SECONDS = 1;

/** One sampled frame of the chosen person. */
export interface ReferenceFrame {
  /** Seconds from the start of the video. */
  time: number;
  /** The detected face: box and five landmarks, in the sampled frame's pixels. */
  detection: FaceDetection;
  /**
   * The face with quality and embedding, for the frames where it was embedded (null where it followed its track
   * unchanged without a new embedding, as in the scan: at least one embedded frame every 3 s).
   */
  face: Face | null;
  /** The picture around the face (box grown by a quarter of its side each way), at most {@link REFERENCE_CONTEXT_SIZE} px. */
  context: RgbImage;
  /** Where `context` was cut from, in the sampled frame's pixels (`context` may be scaled down from it). */
  contextBox: Box;
  /** Size of the sampled frame the face, landmarks and `contextBox` refer to. */
  frameSize: { width: number; height: number };
  /** The face's perceptual hash in the full sampled frame (for the reference's visual fingerprint). */
  hash: FaceHash;
}

/** One person seen in a reference video (tracks of the same face joined). */
export interface ReferencePerson {
  /** Sampled frames the person is in. */
  frames: number;
  /** Mean face box area over those frames, in square pixels of the sampled frames. */
  meanArea: number;
  /** First and last time seen (seconds). */
  start: number;
  end: number;
}

/** One speaker turn of the enrolled voice, with its audio. */
export interface ReferenceTurnAudio {
  /** Start and end (seconds, video timeline) of the turn's speech. */
  start: number;
  end: number;
  /** The speech segments of the turn. */
  speech: SpeechSegment[];
  /** The turn's speech samples (16 kHz mono float32), pauses between its speech segments cut out. */
  pcm: Float32Array;
}

/** What a reference video holds for enrollment. */
export interface VideoReference {
  /** Every person seen, most frames first. */
  people: ReferencePerson[];
  /** Index in `people` of the person chosen, or null (no face, or two people competing: see `faceProblem`). */
  chosen: number | null;
  /** The chosen person's sampled frames, in time order (empty when none was chosen). */
  frames: ReferenceFrame[];
  /** Why no face was chosen (E_NO_FACE, or E_QUALITY when two people compete), else null. */
  faceProblem: LikenessError | null;
  /** The soundtrack's speakers. */
  voice: {
    /** `enrolled`: one speaker holds at least {@link DOMINANT_SPEAKER_SHARE} of the speech; otherwise `skipped` with `note`. */
    status: 'enrolled' | 'skipped';
    /** Why the voice was skipped (a person can read it); absent when enrolled. */
    note?: string;
    /** Seconds of speech attributed to speakers, and the dominant speaker's share of it (0 when none). */
    speechSeconds: number;
    share: number;
    /** Speakers told apart. */
    speakers: number;
    /** The dominant speaker's turns with their audio (empty when skipped). */
    turns: ReferenceTurnAudio[];
    /** The decoded soundtrack (16 kHz mono), or null without one; the turns' times are on its timeline. */
    signal: AudioSignal | null;
  };
  /** Things a person should know (parts not sampled, voice skipped). */
  notes: string[];
}

/** Options of {@link analyseReferenceVideo}. */
export interface VideoReferenceOptions {
  /** Choose the person with the largest average face instead of the one on screen most. */
  largest?: boolean;
  limits?: Partial<MediaLimits>;
  /** What ffprobe said about the file (saves a process start). */
  info?: MediaInfo;
  /** False when the video has no audio stream (the soundtrack is then not decoded). */
  hasAudio?: boolean;
  signal?: AbortSignal;
}

/** The pipelines a reference video goes through. */
export interface VideoReferencePipelines {
  face: FaceAnalyzer;
  voice: () => Promise<VoiceEmbedder>;
}

/** A sampled face of any track. */
interface Sighting extends ReferenceFrame {
  track: number;
}

/**
 * Analyses a reference video for enrollment, and hands out what reference fingerprints need so the video is decoded
 * once: frames sampled at {@link REFERENCE_VIDEO_FPS} (the first {@link REFERENCE_VIDEO_MAX_SECONDS} s), faces
 * tracked across them with the scan's {@link FaceTracker}, tracks of one face joined into people; the person in the
 * most frames (with `largest`: the largest average face) is chosen, unless a runner-up reaches
 * {@link COMPETING_TRACK_SHARE} of it (then `faceProblem` is E_QUALITY, and the soundtrack is not analysed). The
 * chosen person's sampled frames come back as `{time, detection, face, context}` (box and landmarks; the embedded face
 * where it was embedded; a context crop around it). The soundtrack is split into speaker turns
 * ({@link speakerTurns}), turns are clustered by embedding similarity ({@link SAME_SPEAKER_COSINE}), and the voice is
 * `enrolled` only when one cluster holds {@link DOMINANT_SPEAKER_SHARE} of the speech; its turns come back with their PCM.
 * @throws LikenessError E_DECODE, E_UNSUPPORTED, E_TOO_LARGE, E_FFMPEG, E_TIMEOUT, E_ABORTED from decoding.
 */
export async function analyseReferenceVideo(file: string, p: VideoReferencePipelines, opts: VideoReferenceOptions = {}): Promise<VideoReference> {
  const notes: string[] = [];
  const tracker = new FaceTracker({ interval: 1 / REFERENCE_VIDEO_FPS });
  const sightings: Sighting[] = [];
  const best = new Map<number, FaceObservation[]>();
  let sampled = 0;
  let cut = false;
  let lastAnalysed: VideoFrame | null = null;
  const frames = streamVideoFrames(file, { fps: REFERENCE_VIDEO_FPS, limits: opts.limits, ...(opts.info ? { info: opts.info } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  for await (const frame of frames) {
    if (frame.time >= REFERENCE_VIDEO_MAX_SECONDS) {
      cut = true;
      break;
    }
    sampled++;
    const { image, time } = frame;
    // As the scan does: a picture unchanged since the last analysed one, with nobody on screen, is not analysed again
    // (blank or static stretches), and a flat one is not searched for faces.
    if (lastAnalysed && !tracker.hasOpenTracks() && time - lastAnalysed.time < MAX_UNCHANGED_SECONDS && sameFrame(lastAnalysed.image, image)) continue;
    lastAnalysed = frame;
    // A face that stays put and looks the same follows its track without a new embedding (most of a frame's cost);
    // the tracker still embeds each face at least every few seconds, so quality is sampled over time.
    const detections = isFlatFrame(image) ? [] : await p.face.detect(image);
    const signatures = detections.map((d) => patchSignature(image, d.box));
    const follow = tracker.planFollows(time, detections.map((d) => d.box), signatures);
    const fresh = detections.map((_, i) => i).filter((i) => !follow.has(i));
    const described = await p.face.describe(image, fresh.map((i) => detections[i]!));
    const closed = tracker.push(time, described, image, {
      signatures: fresh.map((i) => signatures[i]!),
      follows: [...follow].map(([i, trackId]) => ({ trackId, box: detections[i]!.box, signature: signatures[i]! })),
    });
    for (const t of closed) best.set(t.id, t.best);
    const ids = tracker.lastAssignments();
    const seen = (track: number, detection: FaceDetection, face: Face | null): void => {
      const b = detection.box;
      sightings.push({ track, time, detection, face, context: cropAround(image, b, REFERENCE_CONTEXT_SIZE), contextBox: regionAround(image, b), frameSize: { width: image.width, height: image.height }, hash: faceHash(image, detection) });
    };
    for (const [i, trackId] of follow) seen(trackId, detections[i]!, null);
    described.forEach((face, k) => seen(ids[k]!, face.detection, face));
  }
  for (const t of tracker.finish()) best.set(t.id, t.best);
  if (cut) notes.push(`only the first ${REFERENCE_VIDEO_MAX_SECONDS} s of the video were sampled`);

  // Tracks of the same face (the person left the screen and came back) are one person.
  const personOf = joinTracks(best);
  const byPerson = new Map<number, Sighting[]>();
  for (const s of sightings) {
    const k = personOf.get(s.track) ?? s.track;
    const list = byPerson.get(k) ?? [];
    list.push(s);
    byPerson.set(k, list);
  }
  const groups = [...byPerson.values()].map((list) => {
    // One person counts once per frame (two detections of one face in a frame are one sighting).
    const times = new Set(list.map((s) => s.time));
    return { list, person: { frames: times.size, meanArea: list.reduce((a, s) => a + s.detection.box.w * s.detection.box.h, 0) / list.length, start: list[0]!.time, end: list[list.length - 1]!.time } };
  });
  groups.sort((a, b) => b.person.frames - a.person.frames || b.person.meanArea - a.person.meanArea);
  const people = groups.map((g) => g.person);
  let chosen: number | null = null;
  let faceProblem: LikenessError | null = null;
  if (groups.length === 0) {
    faceProblem = new LikenessError('E_NO_FACE', `no face in the ${sampled} frames sampled at ${REFERENCE_VIDEO_FPS} per second`);
  } else {
    const key = (g: (typeof groups)[number]): number => (opts.largest ? g.person.meanArea : g.person.frames);
    const order = groups.map((_, i) => i).sort((a, b) => key(groups[b]!) - key(groups[a]!));
    const first = groups[order[0]!]!;
    const second = order.length > 1 ? groups[order[1]!]! : null;
    if (second && key(second) >= COMPETING_TRACK_SHARE * key(first)) {
      faceProblem = new LikenessError(
        'E_QUALITY',
        opts.largest
          ? `two people with faces of about the same size (average ${Math.round(second.person.meanArea)} vs ${Math.round(first.person.meanArea)} px², within ${Math.round(COMPETING_TRACK_SHARE * 100)}%): trim the video to the performer alone or use photos`
          : `two people on screen about equally (${second.person.frames} and ${first.person.frames} of ${sampled} sampled frames): trim the video to the performer, or pass --largest to take the one with the larger face`,
        { people: people.length },
      );
    } else chosen = order[0]!;
  }
  const chosenFrames: ReferenceFrame[] = chosen === null ? [] : groups[chosen]!.list.map(({ time, detection, face, context, contextBox, frameSize, hash }) => ({ time, detection, face, context, contextBox, frameSize, hash }));

  // A video whose face is refused is rejected whole: its soundtrack is not worth decoding.
  const voice =
    faceProblem?.code === 'E_QUALITY'
      ? skippedVoice('the video was rejected for its faces', null)
      : opts.hasAudio === false
        ? skippedVoice('the video has no soundtrack', null)
        : await analyseVoice(file, await p.voice(), opts);
  if (voice.note) notes.push(`voice not enrolled: ${voice.note}`);
  return { people, chosen, frames: chosenFrames, faceProblem, voice, notes };
}

/** Track id -> person key: tracks whose identity embeddings reach {@link SAME_PERSON_COSINE} share a key (union-find). */
function joinTracks(best: Map<number, FaceObservation[]>): Map<number, number> {
  const ids = [...best.keys()].filter((id) => best.get(id)!.length > 0);
  const emb = new Map(ids.map((id) => [id, trackEmbedding(best.get(id)!)]));
  const parent = new Map(ids.map((id) => [id, id]));
  const find = (x: number): number => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const a = emb.get(ids[i]!)!;
      const b = emb.get(ids[j]!)!;
      if (dot(a, 0, b, 0, a.length) >= SAME_PERSON_COSINE) parent.set(find(ids[j]!), find(ids[i]!));
    }
  }
  return new Map(ids.map((id) => [id, find(id)]));
}

function skippedVoice(note: string, signal: AudioSignal | null, extra: { speechSeconds?: number; share?: number; speakers?: number } = {}): VideoReference['voice'] {
  return { status: 'skipped', note, speechSeconds: extra.speechSeconds ?? 0, share: extra.share ?? 0, speakers: extra.speakers ?? 0, turns: [], signal };
}

/** Speaker turns of the soundtrack, clustered; the dominant speaker's turns when it holds enough of the speech. */
async function analyseVoice(file: string, ve: VoiceEmbedder, opts: VideoReferenceOptions): Promise<VideoReference['voice']> {
  const signal = await decodeAudio(file, { limits: opts.limits, duration: REFERENCE_VIDEO_MAX_SECONDS, ...(opts.signal ? { signal: opts.signal } : {}) });
  const speech = await detectSpeech(signal);
  const turns = (await speakerTurns(ve, signal, speech)).filter((t) => t.speechSeconds >= MIN_TURN_SPEECH_SECONDS);
  if (turns.length === 0) return skippedVoice('no speech in the soundtrack', signal);
  const embeddings: Float32Array[] = [];
  for (const t of turns) embeddings.push(await ve.embedSamples(turnSamples(signal, t)));
  const clusters = clusterTurns(embeddings);
  const seconds = clusters.map((c) => c.reduce((s, i) => s + turns[i]!.speechSeconds, 0));
  const total = seconds.reduce((a, b) => a + b, 0);
  const top = seconds.indexOf(Math.max(...seconds));
  const share = seconds[top]! / total;
  const facts = { speechSeconds: round(total), share: round(share), speakers: clusters.length };
  if (share < DOMINANT_SPEAKER_SHARE) {
    return skippedVoice(
      `${clusters.length} speakers and none holds ${Math.round(DOMINANT_SPEAKER_SHARE * 100)}% of the speech (the most is ${Math.round(share * 100)}% of ${total.toFixed(1)} s); enroll a recording of the performer alone`,
      signal,
      facts,
    );
  }
  const mine = clusters[top]!.map((i) => turns[i]!).sort((a, b) => a.start - b.start);
  return { status: 'enrolled', ...facts, turns: mine.map((t) => ({ start: t.start, end: t.end, speech: t.speech, pcm: turnSamples(signal, t) })), signal };
}

/** The turn's speech samples, pauses cut out. */
function turnSamples(signal: AudioSignal, t: SpeakerTurn): Float32Array {
  const ranges: [number, number][] = t.speech.map((s) => [Math.max(0, Math.round((s.start - signal.offset) * 16000)), Math.min(signal.samples.length, Math.round((s.end - signal.offset) * 16000))]);
  return gather(signal.samples, ranges.filter(([a, b]) => b > a)).slice();
}

/**
 * Average-linkage agglomerative clustering of L2-normalised turn embeddings: the two most similar clusters merge
 * while their mean pairwise cosine is at least {@link SAME_SPEAKER_COSINE}. Returns clusters of indices. Exported for tests.
 */
export function clusterTurns(embeddings: readonly Float32Array[], minCosine = SAME_SPEAKER_COSINE): number[][] {
  const clusters = embeddings.map((_, i) => [i]);
  const sim = (a: number[], b: number[]): number => {
    let s = 0;
    for (const i of a) for (const j of b) s += dot(embeddings[i]!, 0, embeddings[j]!, 0, embeddings[i]!.length);
    return s / (a.length * b.length);
  };
  for (;;) {
    let bi = -1, bj = -1, bs = -Infinity;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        const s = sim(clusters[i]!, clusters[j]!);
        if (s > bs) (bs = s), (bi = i), (bj = j);
      }
    }
    if (bi < 0 || bs < minCosine) return clusters;
    clusters[bi] = [...clusters[bi]!, ...clusters[bj]!];
    clusters.splice(bj, 1);
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}
