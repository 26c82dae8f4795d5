import { LikenessError } from '../errors';
import { hammingWords, popcount32 } from '../kernels/hamming';
import {
  FACE_HASH_WORDS,
  FACE_QUERY_CANVAS_SIZE,
  FACE_VERIFY_MAX_DISTANCE,
  FACE_VERIFY_WORDS,
  canvasQueryHashes,
  deserializeVisualFingerprint,
  faceVerifyDistance,
  serializeVisualFingerprint,
  type faceQueryHashes,
  type FaceHashFrame,
  type VisualFingerprint,
} from '../face/fingerprint';
import { deserializeAudioFingerprint, serializeAudioFingerprint, type AudioFingerprint } from '../media/audio-fingerprint';
import { FINGERPRINT_KIND } from '../media/fingerprint-format';
import { PostingTable } from '../kernels/postings';
import { invalid, list, num, options, str } from '../validate';

// The reference index behind "reuse or imitation" (issue 16): every stored reference fingerprint, searchable so that
// a lookup does not cost more with every reference added.
// - Visual: multi-index hashing. Each 64-bit hash is cut into 3 chunks, one table per chunk; a hash within r bits of
//   the query agrees with it on at least one chunk up to floor(r / 3) bits, so probing each chunk's value and its
//   neighbours within 1 bit finds every hash within 5 bits (and most within FACE_MAX_DISTANCE); candidates are checked on all 64 bits,
//   then (when the query frame brings its canvas) on 128 verification bits at a refined alignment, and vote for
//   (reference, mirrored, offset).
// - Audio: an inverted index over the 32-bit sub-fingerprints; each query sub-fingerprint and its 32 one-bit
//   neighbours are looked up (in batches, by a prefetching native kernel), the hits vote for (reference, tempo,
//   offset), and the best few are verified by the bit error rate over the whole query.

/** A fingerprint of either kind. */
export type Fingerprint = VisualFingerprint | AudioFingerprint;

/** The bytes of a fingerprint for storage as an opaque artefact (a format byte, a kind byte, the algorithm version, the data). */
export function serializeFingerprint(fp: Fingerprint): Uint8Array {
  if (fp === null || typeof fp !== 'object') throw invalid('fingerprint must be a VisualFingerprint or an AudioFingerprint');
  if (fp.kind === 'visual') return serializeVisualFingerprint(fp);
  if (fp.kind === 'audio') return serializeAudioFingerprint(fp);
  throw invalid(`fingerprint kind must be visual or audio, got ${String((fp as { kind?: unknown }).kind)}`);
}

/** The fingerprint in bytes from {@link serializeFingerprint}. E_DECODE for bytes that are not one, E_UNSUPPORTED for an unknown version. */
export function deserializeFingerprint(bytes: Uint8Array): Fingerprint {
  if (!(bytes instanceof Uint8Array)) throw invalid('fingerprint bytes must be a Uint8Array');
  if (bytes.length >= 2 && bytes[1] === FINGERPRINT_KIND.visual) return deserializeVisualFingerprint(bytes);
  if (bytes.length >= 2 && bytes[1] === FINGERPRINT_KIND.audio) return deserializeAudioFingerprint(bytes);
  throw new LikenessError('E_DECODE', 'the bytes are not a serialized fingerprint');
}

/** One stored reference fingerprint: which reference it belongs to, and the fingerprint. */
export interface OriginEntry {
  referenceId: string;
  fingerprint: Fingerprint;
}

/** The reference a scanned segment reuses. */
export interface OriginMatch {
  referenceId: string;
  /** Seconds into the reference at the scanned segment's start (0 for a photo). */
  referenceOffset: number;
  /** In [0, 1]; a match is only returned at or above the decision threshold of its kind. */
  similarity: number;
  /** True when the scanned face is the reference's mirror image. */
  mirrored?: boolean;
}

/** Options of the lookups. */
export interface LookupOptions {
  /** Decision threshold on similarity (default {@link FACE_THRESHOLD} / {@link VOICE_THRESHOLD}); 0 returns the best alignment whatever its score (for measurements). */
  threshold?: number;
}

/** One sampled frame of a scanned face: its time (seconds from any origin, increasing) and its {@link faceQueryHashes}. */
export interface FaceQueryFrame {
  time: number;
  /**
   * {@link faceQueryHashes} of the face in this frame (or any whole number of hashes of FACE_HASH_WORDS words);
   * computed from `canvas` when left out.
   */
  hashes?: Uint32Array;
  /**
   * The face's query canvas (faceQueryCanvas). With it, a candidate must also pass the verification bits at a refined
   * alignment (what tells the same picture from another picture of the same person); without it, 64 bits decide.
   */
  canvas?: Float32Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Audio

/** Sub-fingerprints (100 per second) whose bit error rate against the reference is at most this count as reuse. */
export const VOICE_MAX_BER = 0.3;

/** Voice decision threshold on similarity = 1 - 2 x bit error rate (so 0.4 is a 30% bit error rate). */
export const VOICE_THRESHOLD = 1 - 2 * VOICE_MAX_BER;

/** Tempo ratios tried: reference seconds per query second (ffmpeg atempo 0.95-1.05 on the reused recording). */
const TEMPOS: readonly number[] = Array.from({ length: 11 }, (_, i) => 0.95 + i * 0.01);
/** Offset bin of the vote, in sub-fingerprints (40 ms). */
const VOTE_BIN = 4;
/** Voted alignments verified on every sub-fingerprint. */
const VERIFY_TOP = 4;
/** A sub-fingerprint group with more postings than this is a stop word: not looked up (see PostingTable.forEach). */
const STOP_POSTINGS = 64;
/** Sub-fingerprints probed per batch (20 s of audio; 0.5 MB of probe buffers). */
const PROBE_BLOCK = 2000;
/** At least this many voiced sub-fingerprints must overlap the reference for a verdict (0.5 s). */
const MIN_OVERLAP = 50;

/** Bit error rate of `q` against `r` aligned as q[i] ~ r[off + tempo * i], over frames voiced in both. */
function bitErrorRate(q: AudioFingerprint, r: AudioFingerprint, off: number, tempo: number, step: number): { ber: number; n: number } {
  let errors = 0;
  let n = 0;
  const qs = q.subprints, rs = r.subprints, qv = q.voiced, rv = r.voiced;
  for (let i = 0; i < qs.length; i += step) {
    if (!qv[i]) continue;
    const j = Math.round(off + tempo * i);
    if (j < 0 || j >= rs.length || !rv[j]) continue;
    errors += popcount32((qs[i]! ^ rs[j]!) >>> 0);
    n++;
  }
  return { ber: n === 0 ? 1 : errors / (32 * n), n };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * The searchable set of every stored reference fingerprint. Build once from the store's fingerprints (per scan or
 * per process) and look up each matched segment.
 *
 * @example
 * const index = OriginIndex.build([{ referenceId: 'ref-1', fingerprint: await audioFingerprint(signal) }]);
 * const m = index.lookupVoice(await audioFingerprint(segment)); // { referenceId, referenceOffset, similarity } | null
 */
export class OriginIndex {
  private readonly audio: { id: string; fp: AudioFingerprint }[] = [];
  private audioTable: PostingTable | null = null;
  private readonly visual: VisualIndex;

  private constructor(entries: readonly OriginEntry[]) {
    const faces: { id: string; fp: VisualFingerprint }[] = [];
    for (const e of entries) {
      if (e.fingerprint.kind === 'audio') this.audio.push({ id: e.referenceId, fp: e.fingerprint });
      else faces.push({ id: e.referenceId, fp: e.fingerprint });
    }
    this.buildAudio();
    this.visual = new VisualIndex(faces);
  }

  /** Builds the index; E_INPUT for an entry without a reference id or with a malformed fingerprint. */
  static build(entries: readonly OriginEntry[]): OriginIndex {
    list('entries', entries);
    entries.forEach((e, i) => {
      if (e === null || typeof e !== 'object') throw invalid(`entries[${i}] must be {referenceId, fingerprint}`);
      str(`entries[${i}].referenceId`, e.referenceId);
      checkFingerprint(`entries[${i}].fingerprint`, e.fingerprint);
    });
    return new OriginIndex(entries);
  }

  /** Number of reference fingerprints of each kind. */
  get size(): { visual: number; audio: number } {
    return { visual: this.visual.size, audio: this.audio.length };
  }

  private buildAudio(): void {
    let n = 0;
    for (const a of this.audio) for (let i = 0; i < a.fp.subprints.length; i++) if (a.fp.voiced[i]) n++;
    const key = new Uint32Array(n), entry = new Uint32Array(n), frame = new Uint32Array(n);
    let p = 0;
    this.audio.forEach((a, e) => {
      for (let i = 0; i < a.fp.subprints.length; i++) {
        if (!a.fp.voiced[i]) continue;
        key[p] = a.fp.subprints[i]!;
        entry[p] = e;
        frame[p] = i;
        p++;
      }
    });
    this.audioTable = new PostingTable({ key, entry, frame, n }, { filter: true });
  }

  /**
   * The reference recording a scanned speech segment reuses, or null. `query` is the segment's fingerprint
   * ({@link audioFingerprint} of the segment alone, so its first sub-fingerprint is the segment start). Survives
   * re-encoding (AAC 48 kb/s), tempo changes of 0.95-1.05 with pitch kept, and music under the speech; returns a match
   * when the best alignment's similarity (1 - 2 x bit error rate) is at least {@link VOICE_THRESHOLD}.
   */
  lookupVoice(query: AudioFingerprint, opts: LookupOptions = {}): OriginMatch | null {
    checkFingerprint('query', query);
    const threshold = num('threshold', options('lookup options', opts).threshold ?? VOICE_THRESHOLD, 0, 1);
    if (query.kind !== 'audio') throw invalid('lookupVoice needs an audio fingerprint');
    const table = this.audioTable;
    if (!table || this.audio.length === 0) return null;
    // Votes: (entry, tempo, offset bin) -> count.
    const votes = new Map<number, number>();
    const nT = TEMPOS.length;
    const qs = query.subprints;
    // Every voiced sub-fingerprint and its 32 one-bit neighbours, probed in batches (see PostingTable.forEachOf) of
    // PROBE_BLOCK sub-fingerprints, so a long segment does not take memory in proportion to its length.
    const probes = new Uint32Array(PROBE_BLOCK * 33);
    const at = new Uint32Array(PROBE_BLOCK * 33);
    const vote = (e: number, r: number, k: number): void => {
      const i = at[k]!;
      for (let t = 0; t < nT; t++) {
        const bin = Math.round((r - TEMPOS[t]! * i) / VOTE_BIN);
        const key = (e * nT + t) * 1_000_000 + bin + 500_000;
        votes.set(key, (votes.get(key) ?? 0) + 1);
      }
    };
    for (let from = 0; from < qs.length; from += PROBE_BLOCK) {
      let count = 0;
      for (let i = from; i < Math.min(qs.length, from + PROBE_BLOCK); i++) {
        if (!query.voiced[i]) continue;
        const v = qs[i]!;
        probes[count] = v;
        at[count++] = i;
        for (let b = 0; b < 32; b++) {
          probes[count] = (v ^ (1 << b)) >>> 0;
          at[count++] = i;
        }
      }
      table.forEachOf(probes, count, vote, STOP_POSTINGS);
    }
    const top = [...votes.entries()].sort((a, b) => b[1] - a[1]).slice(0, VERIFY_TOP);
    let best: OriginMatch | null = null;
    let bestSim = -1;
    for (const [k] of top) {
      const bin = (k % 1_000_000) - 500_000;
      const et = Math.floor(k / 1_000_000);
      const e = Math.floor(et / nT);
      const t = et % nT;
      const ref = this.audio[e]!;
      let local = { ber: 1, off: 0 };
      for (let tempo = TEMPOS[t]! - 0.005; tempo <= TEMPOS[t]! + 0.0051; tempo += 0.005) {
        for (let off = bin * VOTE_BIN - VOTE_BIN; off <= bin * VOTE_BIN + VOTE_BIN; off++) {
          const r = bitErrorRate(query, ref.fp, off, tempo, 1);
          if (r.n >= MIN_OVERLAP && r.ber < local.ber) local = { ber: r.ber, off };
        }
      }
      const sim = Math.max(0, 1 - 2 * local.ber);
      if (sim > bestSim) {
        bestSim = sim;
        best = { referenceId: ref.id, referenceOffset: Math.max(0, local.off * ref.fp.hopSeconds), similarity: sim };
      }
    }
    return best && best.similarity >= threshold ? best : null;
  }

  /**
   * The reference photo or clip a scanned face track reuses, or null. `frames` are the track's sampled faces with
   * their {@link faceHash} hashes, in time order; `referenceOffset` is the reference time at the first frame.
   */
  lookupFace(frames: readonly FaceQueryFrame[], opts: LookupOptions = {}): OriginMatch | null {
    list('frames', frames, 1);
    const threshold = num('threshold', options('lookup options', opts).threshold ?? FACE_THRESHOLD, 0, 1);
    const queries = frames.map((f, i): VisualQuery => {
      num(`frames[${i}].time`, f?.time, -Number.MAX_VALUE, Number.MAX_VALUE);
      if (f.canvas !== undefined && (!(f.canvas instanceof Float32Array) || f.canvas.length !== FACE_QUERY_CANVAS_SIZE)) throw invalid(`frames[${i}].canvas must be a Float32Array of ${FACE_QUERY_CANVAS_SIZE} values (faceQueryCanvas)`);
      if (f.hashes === undefined && f.canvas !== undefined) return { time: f.time, hashes: canvasQueryHashes(f.canvas), canvas: f.canvas };
      if (!(f.hashes instanceof Uint32Array) || f.hashes.length === 0 || f.hashes.length % FACE_HASH_WORDS !== 0) throw invalid(`frames[${i}].hashes must be a Uint32Array of whole ${FACE_HASH_WORDS}-word hashes (faceQueryHashes), or give canvas`);
      return { time: f.time, hashes: f.hashes, ...(f.canvas ? { canvas: f.canvas } : {}) };
    });
    return this.visual.lookup(queries, threshold);
  }
}

/** Throws E_INPUT unless `fp` is a well-formed fingerprint. */
function checkFingerprint(name: string, fp: unknown): asserts fp is Fingerprint {
  const f = fp as Partial<AudioFingerprint> & Partial<VisualFingerprint> | null;
  if (!f || typeof f !== 'object') throw invalid(`${name} must be a fingerprint`);
  if (f.kind === 'audio') {
    if (!(f.subprints instanceof Uint32Array) || !(f.voiced instanceof Uint8Array) || f.voiced.length !== f.subprints.length) throw invalid(`${name} needs subprints (Uint32Array) and voiced (Uint8Array) of one length`);
    num(`${name}.hopSeconds`, f.hopSeconds, 1e-4, 10);
    return;
  }
  if (f.kind === 'visual') {
    list(`${name}.frames`, f.frames);
    f.frames!.forEach((x: FaceHashFrame, i: number) => {
      num(`${name}.frames[${i}].time`, x?.time, 0, Number.MAX_VALUE);
      for (const k of ['hash', 'mirror'] as const) if (!(x[k] instanceof Uint32Array) || x[k].length !== FACE_HASH_WORDS) throw invalid(`${name}.frames[${i}].${k} must be a Uint32Array of ${FACE_HASH_WORDS} words`);
      for (const k of ['verify', 'mirrorVerify'] as const) if (!(x[k] instanceof Uint32Array) || x[k].length !== FACE_VERIFY_WORDS) throw invalid(`${name}.frames[${i}].${k} must be a Uint32Array of ${FACE_VERIFY_WORDS} words`);
    });
    return;
  }
  throw invalid(`${name}.kind must be visual or audio`);
}

// ---------------------------------------------------------------------------------------------------------------
// Visual

const FACE_MATCH_WORDS = FACE_HASH_WORDS;
/** Bits compared per hash. */
const MATCH_BITS = FACE_MATCH_WORDS * 32;

/**
 * A scanned frame within this many bits (of 64) of a reference frame votes for it. Measured (benchmarks/RESULTS.md):
 * the same photo after scaling to 50%, a 10% crop, mirroring, brightness +-30% or H.264 at 300 kb/s is at most 10
 * bits away (95th percentile 8), other photos of the same person at least 8 (5th percentile 14), other people at
 * least 10.
 */
export const FACE_MAX_DISTANCE = 8;

/**
 * Face decision threshold on similarity: the mean over the scanned frames of 1 - distance / 32 for frames that voted
 * for the reference (0 for frames that did not). One frame at the largest distance gives 0.75.
 */
export const FACE_THRESHOLD = 0.6;

/** The compared bits cut into this many chunks (21, 21 and 22 bits), one table each. */
const CHUNKS = 3;
const CHUNK_BITS: readonly number[] = [21, 21, 22];
/**
 * Bits flipped per chunk when probing. One bit finds every stored hash within 5 bits of a query variant (some chunk
 * then differs by at most one) and most within FACE_MAX_DISTANCE; the query's 200 variants make up for the rest (the
 * true reference is near several of them). Measured: two bits (which find every hash within 8) cost 10x the probes,
 * and on the issue 16 grid found nothing more (77/80 both ways); with one bit a lookup costs 1.3x at 10,000
 * references what it costs at 100 (2.2x with two: bench:origin).
 */
const CHUNK_RADIUS = 1;
/** Offset vote bin in seconds. */
const FACE_BIN = 0.25;
/** Frames whose offsets are this close (seconds) agree on one alignment (motion between 4 fps reference frames). */
const FACE_OFFSET_TOLERANCE = 0.5;

/** All masks of `bits` bits with at most `r` set (r <= 2). */
function flipMasks(bits: number, r: number): Uint32Array {
  const out: number[] = [0];
  if (r >= 1) for (let i = 0; i < bits; i++) out.push(1 << i);
  if (r >= 2) for (let i = 0; i < bits; i++) for (let j = i + 1; j < bits; j++) out.push((1 << i) | (1 << j));
  return Uint32Array.from(out);
}

/** A query frame with its hashes computed. */
interface VisualQuery {
  time: number;
  hashes: Uint32Array;
  canvas?: Float32Array;
}

/** Multi-index hashing over the compared bits of every reference frame hash (and its mirror). */
class VisualIndex {
  /** Per stored hash: reference entry, frame, mirrored. */
  private readonly entryOf: Uint32Array;
  private readonly frameOf: Uint32Array;
  private readonly mirrorOf: Uint8Array;
  /** The compared words of every stored hash, row-major. */
  private readonly words: Uint32Array;
  /** The verification words of every stored hash, row-major. */
  private readonly verify: Uint32Array;
  /** Per chunk: chunk value -> stored-hash ids. */
  private readonly tables: PostingTable[] = [];
  /**
   * Per chunk: one bit per possible chunk value, set when some stored hash has it. Nearly every probe is for a value no
   * stored hash has; this bitset (256-512 kB a chunk, whatever the number of references) answers those without
   * touching the posting table, whose size grows with the index, so a lookup costs about the same with 100 or 10,000
   * references instead of paying more cache misses as the tables grow.
   */
  private readonly present: Uint32Array[] = [];
  private readonly masks = CHUNK_BITS.map((b) => flipMasks(b, CHUNK_RADIUS));
  private readonly seen: Uint32Array;
  private readonly dist: Uint8Array;
  /** The query variant nearest each candidate of the current probe. */
  private readonly variantOf: Uint16Array;
  private stamp = 0;

  constructor(private readonly refs: { id: string; fp: VisualFingerprint }[]) {
    let n = 0;
    for (const r of refs) n += r.fp.frames.length * 2;
    this.entryOf = new Uint32Array(n);
    this.frameOf = new Uint32Array(n);
    this.mirrorOf = new Uint8Array(n);
    this.words = new Uint32Array(n * FACE_MATCH_WORDS);
    this.verify = new Uint32Array(n * FACE_VERIFY_WORDS);
    this.seen = new Uint32Array(n);
    this.dist = new Uint8Array(n);
    this.variantOf = new Uint16Array(n);
    let h = 0;
    refs.forEach((r, e) => {
      r.fp.frames.forEach((f, i) => {
        for (const m of [0, 1]) {
          this.entryOf[h] = e;
          this.frameOf[h] = i;
          this.mirrorOf[h] = m;
          this.words.set(m ? f.mirror : f.hash, h * FACE_MATCH_WORDS);
          this.verify.set(m ? f.mirrorVerify : f.verify, h * FACE_VERIFY_WORDS);
          h++;
        }
      });
    });
    for (let c = 0; c < CHUNKS; c++) {
      const key = new Uint32Array(n), ids = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        key[i] = chunk(this.words, i, c);
        ids[i] = i;
      }
      this.tables.push(new PostingTable({ key, entry: ids, frame: ids, n }));
      const bits = new Uint32Array(2 ** (CHUNK_BITS[c]! - 5));
      for (let i = 0; i < n; i++) bits[key[i]! >>> 5]! |= 1 << (key[i]! & 31);
      this.present.push(bits);
    }
  }

  get size(): number {
    return this.refs.length;
  }

  /**
   * Stored hashes within FACE_MAX_DISTANCE of any of the query hashes, with the smallest distance. Each query hash
   * finds (by pigeonhole over the chunks) every stored hash within 5 bits of it and most within 8, so a candidate is checked
   * against the query hash that probed it only: one popcount per candidate, not one per query variant. With the
   * frame's canvas, each candidate must then pass {@link faceVerifyDistance} from the variant nearest it.
   */
  private near(query: VisualQuery, out: (h: number, d: number, verify: number) => void): void {
    if (++this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const q = query.hashes;
    const variants = q.length / FACE_MATCH_WORDS;
    const found: number[] = [];
    let qv = 0;
    const visit = (h: number): void => {
      const d = hammingWords(q, qv * FACE_MATCH_WORDS, this.words, h * FACE_MATCH_WORDS, FACE_MATCH_WORDS);
      if (d > FACE_MAX_DISTANCE) return;
      if (this.seen[h] !== this.stamp) {
        this.seen[h] = this.stamp;
        this.dist[h] = d;
        this.variantOf[h] = qv;
        found.push(h);
      } else if (d < this.dist[h]!) {
        this.dist[h] = d;
        this.variantOf[h] = qv;
      }
    };
    for (qv = 0; qv < variants; qv++) {
      for (let c = 0; c < CHUNKS; c++) {
        const v = chunk(q, qv, c);
        const masks = this.masks[c]!;
        const present = this.present[c]!, table = this.tables[c]!;
        for (let k = 0; k < masks.length; k++) {
          const key = (v ^ masks[k]!) >>> 0;
          if (present[key >>> 5]! & (1 << (key & 31))) table.forEach(key, visit);
        }
      }
    }
    for (const h of found) {
      const vd = query.canvas ? faceVerifyDistance(query.canvas, this.variantOf[h]!, this.verify.subarray(h * FACE_VERIFY_WORDS, (h + 1) * FACE_VERIFY_WORDS)) : 0;
      if (vd > FACE_VERIFY_MAX_DISTANCE) continue;
      out(h, this.dist[h]!, vd);
    }
  }

  lookup(frames: readonly VisualQuery[], threshold: number): OriginMatch | null {
    if (this.refs.length === 0) return null;
    const t0 = frames[0]!.time;
    // Per (entry, mirrored): every frame's votes, as (frame, offset, similarity).
    const votes = new Map<number, { f: number; off: number; s: number; vd: number }[]>();
    frames.forEach((fr, fi) => {
      this.near(fr, (h, d, vd) => {
        const e = this.entryOf[h]!;
        const ref = this.refs[e]!.fp;
        const off = ref.still ? 0 : ref.frames[this.frameOf[h]!]!.time - (fr.time - t0);
        const key = e * 2 + this.mirrorOf[h]!;
        let list = votes.get(key);
        if (!list) votes.set(key, (list = []));
        list.push({ f: fi, off, s: 1 - d / (MATCH_BITS / 2), vd });
      });
    });
    // The (reference, mirrored, offset) that most frames agree on within +-FACE_OFFSET_TOLERANCE: each frame counts once,
    // with its best similarity there.
    let best: { key: number; score: number; offset: number } | null = null;
    const perFrame = new Float64Array(frames.length);
    const atFrame = new Float64Array(frames.length);
    const verifyAt = new Float64Array(frames.length);
    for (const [key, list] of votes) {
      const centres = [...new Set(list.map((v) => Math.round(v.off / FACE_BIN)))];
      for (const c of centres) {
        perFrame.fill(0);
        for (const v of list) {
          // Per frame, the reference frame nearest on the verification bits (finer than the 64 hashed bits, so it
          // places the offset better among reference frames that hash alike), then on the hashed bits.
          if (Math.abs(v.off - c * FACE_BIN) > FACE_OFFSET_TOLERANCE) continue;
          if (perFrame[v.f]! > 0 && (v.vd > verifyAt[v.f]! || (v.vd === verifyAt[v.f]! && v.s <= perFrame[v.f]!))) continue;
          perFrame[v.f] = v.s;
          atFrame[v.f] = v.off;
          verifyAt[v.f] = v.vd;
        }
        let score = 0;
        const offs: number[] = [];
        for (let f = 0; f < frames.length; f++) {
          score += perFrame[f]!;
          if (perFrame[f]! > 0) offs.push(atFrame[f]!);
        }
        if (!best || score > best.score) {
          offs.sort((x, y) => x - y);
          best = { key, score, offset: offs[offs.length >> 1]! };
        }
      }
    }
    if (!best) return null;
    const similarity = Math.min(1, best.score / frames.length);
    if (similarity < threshold) return null;
    const ref = this.refs[best.key >> 1]!;
    const m: OriginMatch = { referenceId: ref.id, referenceOffset: ref.fp.still ? 0 : Math.max(0, best.offset), similarity };
    if (best.key & 1) m.mirrored = true;
    return m;
  }
}

/** Chunk `c` (bits 0-20, 21-41, 42-63) of the 64-bit hash at row `row` of `w`. */
function chunk(w: Uint32Array, row: number, c: number): number {
  const lo = w[row * FACE_MATCH_WORDS]!, hi = w[row * FACE_MATCH_WORDS + 1]!;
  if (c === 0) return lo & 0x1fffff;
  if (c === 1) return ((lo >>> 21) | ((hi & 0x3ff) << 11)) >>> 0;
  return (hi >>> 10) & 0x3fffff;
}
