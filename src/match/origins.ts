import { LikenessError, isLikenessError } from '../errors';
import type { AudioFingerprint } from '../media/audio-fingerprint';
import type { Modality, Store } from '../store/types';
import { OriginIndex, deserializeFingerprint, serializeFingerprint, type FaceQueryFrame, type Fingerprint, type OriginEntry, type OriginMatch } from './origin-index';

/**
 * The scanned media reuses an enrolled reference (a photo, a stretch of a reference video or recording), re-encoded,
 * cropped, mirrored or under music: the original is the proof of reuse without consent.
 */
export interface ReuseOrigin {
  kind: 'reference-reuse';
  /** The reference reused: the sha256 of its media (as in `performers export`). */
  referenceId: string;
  /** The performer the reference was enrolled for (reuse of another performer's media counts too). */
  performerId: string;
  /** Reference time in seconds at the scanned segment's start (0 for a photo). */
  referenceOffset: number;
  /** Fingerprint similarity, 0..1 (1: the same picture or sound). */
  similarity: number;
}

/**
 * Where a match's media came from, by comparing fingerprints of the segment with every stored reference's:
 * `reference-reuse` (one of the enrolled references, reused), `new-media` (not one of the enrolled references: a new
 * recording or photo, or an imitation; nothing here says which, and nothing says "synthetic"), `unknown` (some of the
 * performer's references of that modality have no fingerprint, e.g. enrolled before fingerprints existed, so a reuse
 * of one of them could not be seen; or the segment gave nothing to compare).
 */
export type MatchOrigin = ReuseOrigin | { kind: 'new-media' } | { kind: 'unknown' };

/** Whose reference an index entry is. */
interface EntryOwner {
  performerId: string;
  referenceHash: string;
}

/**
 * Every stored reference fingerprint in one {@link OriginIndex}, with what is needed to word the answer: which
 * performer each reference belongs to, and which performers have references without a fingerprint (for whom "not
 * found" means `unknown`, not `new-media`). Built from the store once per change of the store
 * ({@link ReferenceOrigins.version}); a lookup costs the same with 100 references as with 10,000 (the index's doing).
 */
export class ReferenceOrigins {
  private constructor(
    private readonly index: OriginIndex,
    private readonly owners: Map<string, EntryOwner>,
    /** `${performerId}\n${modality}` for each performer whose references all have fingerprints, some of that modality. */
    private readonly covered: Set<string>,
    /** The store's change counter this was built at. */
    readonly version: number,
  ) {}

  /**
   * Reads every fingerprint artefact (decrypted) and every performer's references. A fingerprint that cannot be read
   * (damaged, or made by a newer version) is left out, and its performer counts as not covered.
   */
  static async load(store: Store): Promise<ReferenceOrigins> {
    const version = await store.changeCounter();
    const entries: OriginEntry[] = [];
    const owners = new Map<string, EntryOwner>();
    const fingerprinted = new Set<string>();
    /** `${performerId}\n${modality}` with at least one fingerprint of that modality's kind. */
    const kinds = new Set<string>();
    for await (const a of store.artifacts('fingerprint')) {
      let prints: Fingerprint[];
      try {
        prints = unbundleFingerprints(a.data);
      } catch (e) {
        if (isLikenessError(e)) continue;
        throw e;
      }
      prints.forEach((fingerprint, i) => {
        const key = `${a.performerId}\n${a.referenceHash}\n${i}`;
        owners.set(key, { performerId: a.performerId, referenceHash: a.referenceHash });
        entries.push({ referenceId: key, fingerprint });
      });
      if (prints.length > 0) fingerprinted.add(`${a.performerId}\n${a.referenceHash}`);
      for (const fp of prints) kinds.add(`${a.performerId}\n${fp.kind === 'audio' ? 'voice' : 'face'}`);
    }
    const covered = new Set<string>();
    // A performer is covered for a modality when every reference has a fingerprint (a video reference carries the
    // face and the soundtrack of one file) and some fingerprint is of that modality.
    for (const p of await store.listPerformers()) {
      const refs = await store.references(p.id);
      if (refs.length === 0 || !refs.every((r) => fingerprinted.has(`${p.id}\n${r.sha256}`))) continue;
      for (const m of ['face', 'voice'] as const satisfies readonly Modality[]) if (kinds.has(`${p.id}\n${m}`)) covered.add(`${p.id}\n${m}`);
    }
    return new ReferenceOrigins(OriginIndex.build(entries), owners, covered, version);
  }

  /** True when some stored reference has a visual fingerprint (else scans need not hash faces). */
  get hasVisual(): boolean {
    return this.index.size.visual > 0;
  }

  /** True when some stored reference has an audio fingerprint. */
  get hasAudio(): boolean {
    return this.index.size.audio > 0;
  }

  /**
   * The origin of a face matched to `performerId`, from the hashes of its sampled frames (time order). Any
   * performer's reference may be the one reused.
   */
  face(performerId: string, frames: readonly FaceQueryFrame[]): MatchOrigin {
    if (frames.length === 0 || !this.hasVisual) return { kind: 'unknown' };
    return this.answer(performerId, 'face', this.index.lookupFace(frames));
  }

  /** The origin of a voice matched to `performerId`, from the fingerprint of the matched speech. */
  voice(performerId: string, fp: AudioFingerprint): MatchOrigin {
    if (!this.hasAudio || !fp.voiced.some((v) => v === 1)) return { kind: 'unknown' };
    return this.answer(performerId, 'voice', this.index.lookupVoice(fp));
  }

  private answer(performerId: string, modality: Modality, m: OriginMatch | null): MatchOrigin {
    const owner = m ? this.owners.get(m.referenceId) : undefined;
    if (m && owner) {
      return { kind: 'reference-reuse', referenceId: owner.referenceHash, performerId: owner.performerId, referenceOffset: Math.max(0, m.referenceOffset), similarity: m.similarity };
    }
    return this.covered.has(`${performerId}\n${modality}`) ? { kind: 'new-media' } : { kind: 'unknown' };
  }
}

/** First bytes of a fingerprint bundle ("LGFB"): several fingerprints of one reference (a video's faces and sound). */
const BUNDLE_MAGIC = 0x4246474c;

/**
 * The bytes of a reference's fingerprints, for its one `fingerprint` artefact: a video reference has a visual and an
 * audio fingerprint, a photo or a recording one. Layout: magic, count, then (length, bytes) per fingerprint, all
 * 32-bit little-endian.
 */
export function bundleFingerprints(prints: readonly Fingerprint[]): Uint8Array {
  const parts = prints.map((p) => serializeFingerprint(p));
  const out = new Uint8Array(8 + parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, BUNDLE_MAGIC, true);
  view.setUint32(4, parts.length, true);
  let at = 8;
  for (const p of parts) {
    view.setUint32(at, p.length, true);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** The fingerprints in a bundle from {@link bundleFingerprints} (or one plain serialized fingerprint). @throws E_DECODE */
export function unbundleFingerprints(bytes: Uint8Array): Fingerprint[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint32(0, true) !== BUNDLE_MAGIC) return [deserializeFingerprint(bytes)];
  const count = view.getUint32(4, true);
  const out: Fingerprint[] = [];
  let at = 8;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) throw new LikenessError('E_DECODE', 'fingerprint bundle is truncated');
    const n = view.getUint32(at, true);
    if (at + 4 + n > bytes.length) throw new LikenessError('E_DECODE', 'fingerprint bundle is truncated');
    out.push(deserializeFingerprint(bytes.subarray(at + 4, at + 4 + n)));
    at += 4 + n;
  }
  return out;
}
