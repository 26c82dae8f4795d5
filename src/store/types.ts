/**
 * The registry's storage contract. Every method is async so that a networked backend (PostgreSQL next) can implement
 * the same interface; the embedded SQLite backend in `sqlite.ts` is the default. The store does no biometric maths:
 * it keeps what callers give it, atomically, encrypted when a key is set.
 */

/** What a reference or template was made from. */
export type Modality = 'face' | 'voice';

/** `item`: one template per accepted face / speech window; `centroid`: one per performer and model. */
export type TemplateKind = 'item' | 'centroid';

/** A performer's consent record. Dates are ISO-8601 strings (UTC). */
export interface Consent {
  /** Who granted it (the performer, an agent, a guardian...). */
  grantedBy: string;
  /** When it was granted. */
  grantedAt: string;
  /** What it covers, free text (e.g. "monitoring", "face+voice"). */
  scope: string;
  /** After this instant the performer is no longer reported as a match. */
  expiresAt?: string;
  /** Reference to the signed document (file name, DMS id...). */
  documentRef?: string;
  /** Set when consent was withdrawn; from then on the performer is never reported. */
  withdrawnAt?: string;
}

/** A performer as stored. `consent: null` records that the caller explicitly enrolled without consent. */
export interface Performer {
  id: string;
  name: string;
  aliases: string[];
  consent: Consent | null;
  createdAt: string;
  updatedAt: string;
}

/** Input for {@link Store.upsertPerformer}: a new performer when `id` is absent. */
export interface PerformerInput {
  id?: string;
  name: string;
  aliases?: string[];
  consent: Consent | null;
}

/** A JSON value (the quality reports callers store are plain JSON). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One enrolled media item: its content hash and quality report (the media itself is not kept). */
export interface Reference {
  performerId: string;
  /** sha256 of the media bytes, 64 lowercase hex characters. */
  sha256: string;
  modality: Modality;
  /** The quality report of the item as produced by the face or voice pipeline. */
  quality: JsonValue;
  createdAt: string;
}

/** A stored template, decrypted. */
export interface Template {
  id: string;
  performerId: string;
  modelId: string;
  modality: Modality;
  kind: TemplateKind;
  /** L2-normalised embedding. */
  vector: Float32Array;
  /** sha256 of the reference it came from; null for centroids. */
  referenceHash: string | null;
  /** Quality in [0, 1] used as the centroid weight for faces. */
  quality: number;
  createdAt: string;
}

/** Template metadata without the vector (exports, listings). */
export interface TemplateInfo extends Omit<Template, 'vector'> {
  dim: number;
  /** Whether the vector is encrypted at rest, and with which key. */
  encrypted: boolean;
  keyId: string | null;
}

/**
 * What a per-reference artefact is: `thumbnail` (a small JPEG of the enrolled face, for evidence pages) or
 * `fingerprint` (perceptual / audio fingerprint bytes, opaque to the store). Both are biometric data.
 */
export type ArtifactKind = 'thumbnail' | 'fingerprint';

/** An artefact to store with a new reference: opaque bytes, at most 256 KiB (`MAX_ARTIFACT_BYTES`; one per kind). */
export interface NewArtifact {
  kind: ArtifactKind;
  data: Uint8Array;
}

/** A stored artefact, decrypted. */
export interface StoredArtifact {
  performerId: string;
  /** sha256 of the reference it belongs to. */
  referenceHash: string;
  /** The modality of that reference. */
  modality: Modality;
  kind: ArtifactKind;
  data: Uint8Array;
  createdAt: string;
}

/** Artefact metadata without the bytes (exports, listings). */
export interface ArtifactInfo extends Omit<StoredArtifact, 'data'> {
  /** Size of the (decrypted) bytes. */
  bytes: number;
  /** Whether the bytes are encrypted at rest, and with which key. */
  encrypted: boolean;
  keyId: string | null;
}

/** A reference to add in an enrollment. */
export interface NewReference {
  sha256: string;
  modality: Modality;
  quality: JsonValue;
  /**
   * Artefacts of this reference (at most one per kind), written in the same transaction, encrypted like templates.
   * For a reference the performer already has, only kinds it has none of are added (so re-enrolling media enrolled
   * before artefacts existed adds them); a stored artefact is never replaced.
   */
  artifacts?: NewArtifact[];
}

/** A template to add in an enrollment. A centroid replaces the performer's existing centroid for the model. */
export interface NewTemplate {
  modelId: string;
  modality: Modality;
  kind: TemplateKind;
  vector: Float32Array;
  /** Required for items (must be one of the enrollment's references or an existing one); null for centroids. */
  referenceHash: string | null;
  quality: number;
}

/** What one enrollment transaction did. */
export interface EnrollmentWrite {
  /** References written now. */
  added: string[];
  /** References that the performer already had (same sha256): neither they nor their item templates were written. */
  duplicates: string[];
  /** Number of template rows written (items and centroids). */
  templatesWritten: number;
  /** Number of artefacts written (of added references, and kinds new to references the performer already had). */
  artifactsWritten: number;
  /** The store's change counter after the commit. */
  changeCounter: number;
}

/** Kinds of audit events. None of them ever carries biometric data. */
export type AuditType =
  | 'performer.create'
  | 'performer.update'
  | 'enroll'
  | 'delete'
  | 'consent.change'
  | 'match.reported'
  | 'match.suppressed'
  | 'export'
  | 'rekey';

/** Values allowed in audit details: scalars only, so vectors cannot slip in. */
export type AuditValue = string | number | boolean | null;

/** An audit event to append. */
export interface AuditEvent {
  type: AuditType;
  performerId?: string | null;
  details?: Record<string, AuditValue>;
}

/** An appended audit entry. */
export interface AuditEntry {
  seq: number;
  at: string;
  type: AuditType;
  performerId: string | null;
  details: Record<string, AuditValue>;
}

/** Everything stored about one performer (for access requests). */
export interface PerformerExport {
  exportedAt: string;
  performer: Performer;
  references: Reference[];
  /** Template metadata; `vector` (base64 of float32 little-endian) only when asked for. */
  templates: Array<TemplateInfo & { vector?: string }>;
  /** Artefact metadata (thumbnails, fingerprints); `data` (base64 of the bytes) only with `includeVectors`. */
  artifacts: Array<ArtifactInfo & { data?: string }>;
  audit: AuditEntry[];
}

/** Key material for template encryption: a 32-byte AES-256 key and a stable id. */
export interface KeyMaterial {
  id: string;
  key: Uint8Array;
}

/**
 * Supplies keys. Called without an id for the key to encrypt with (null: store unencrypted), and with an id to
 * decrypt rows written under that key (null when unknown: reads of those rows fail with E_CRYPTO).
 */
export type KeyProvider = (keyId?: string) => KeyMaterial | null | undefined | Promise<KeyMaterial | null | undefined>;

/** Backend facts for `likeness doctor`. */
export interface StoreInfo {
  backend: 'sqlite' | 'postgres';
  /** Where it lives (file path or connection target without credentials). */
  location: string;
  schemaVersion: number;
  /** True when new templates are encrypted (a key is configured). */
  encrypted: boolean;
  /** Id of the key new templates are encrypted with, or null. */
  keyId: string | null;
  /** Key ids of the stored templates (null: plaintext rows) with their counts. */
  templateKeys: Array<{ keyId: string | null; count: number }>;
  /** Key ids of the stored artefacts (thumbnails, fingerprints) with their counts. */
  artifactKeys: Array<{ keyId: string | null; count: number }>;
  /**
   * True when a committed hard delete has not yet been scrubbed from the backend's logs (SQLite: a WAL checkpoint
   * that readers kept from completing; it is retried on the next delete, `checkpoint()` and open).
   */
  scrubPending: boolean;
}

/** Result of {@link Store.rekey}. */
export interface RekeyReport {
  /** Templates re-encrypted (or encrypted for the first time). */
  reencrypted: number;
  /** Artefacts re-encrypted (or encrypted for the first time). */
  artifactsReencrypted: number;
  /** Number of transactions used. */
  batches: number;
  keyId: string;
}

/** Count of templates per model. */
export interface ModelCount {
  modelId: string;
  modality: Modality;
  dim: number;
  templates: number;
  performers: number;
}

/** The storage interface. Every enrollment and every delete is one transaction. */
export interface Store {
  /** Backend facts (encryption state, schema version). */
  info(): Promise<StoreInfo>;
  /** Releases the backend; further calls fail with E_STORE. */
  close(): Promise<void>;

  /** Creates (no `id`, or an `id` not stored yet) or updates a performer; returns it as stored. */
  upsertPerformer(p: PerformerInput): Promise<Performer>;
  getPerformer(id: string): Promise<Performer | null>;
  listPerformers(): Promise<Performer[]>;
  /** Replaces the consent record (and audits the change) in one transaction. */
  setConsent(id: string, consent: Consent | null, reason?: string): Promise<Performer>;
  /**
   * Hard delete: performer, references, templates and artefacts in one transaction; returns false when it did not exist. Once
   * committed it reports success; the backend then scrubs the deleted bytes from its logs itself (retried while
   * readers hold them; `info().scrubPending` tells when that is still to do).
   */
  deletePerformer(id: string): Promise<boolean>;

  /**
   * Checks that writes would be readable by everyone using the store: the configured key opens the templates already
   * stored (every enrollment runs this check before writing; callers run it early to fail before costly work).
   * @throws LikenessError E_CRYPTO naming the store's key and what to set.
   */
  verifyWriteKey(): Promise<void>;
  /** Adds references (with their artefacts) and templates for one performer in one transaction (all or nothing). */
  addEnrollment(performerId: string, references: NewReference[], templates: NewTemplate[]): Promise<EnrollmentWrite>;
  /**
   * Creates a performer and writes its first references and templates in one transaction: a crash leaves either the
   * whole enrollment or no performer at all (never one with nothing enrolled).
   */
  createWithEnrollment(p: Omit<PerformerInput, 'id'>, references: NewReference[], templates: NewTemplate[]): Promise<{ performer: Performer; write: EnrollmentWrite }>;
  references(performerId: string): Promise<Reference[]>;
  /** Decrypted templates of one model (every performer), in a stable order. */
  templates(modelId: string): AsyncIterable<Template>;
  /** Decrypted templates of one performer, optionally of one model. */
  performerTemplates(performerId: string, modelId?: string): Promise<Template[]>;
  /** Models with templates and their counts. */
  models(): Promise<ModelCount[]>;
  /**
   * Artefacts of one performer's references, optionally of one kind, decrypted, in insertion order.
   * @throws LikenessError E_CRYPTO when they are encrypted under a key not configured.
   */
  referenceArtifacts(performerId: string, kind?: ArtifactKind): Promise<StoredArtifact[]>;
  /** Decrypted artefacts of one kind (every performer), in a stable (insertion) order: for indexes built at scan time. */
  artifacts(kind: ArtifactKind): AsyncIterable<StoredArtifact>;
  /** Grows whenever templates, artefacts or performers change; galleries and artefact indexes rebuild when it moves. */
  changeCounter(): Promise<number>;

  /** Appends an audit event (append-only; no biometric data). */
  audit(event: AuditEvent): Promise<AuditEntry>;
  /** Appends several audit events in one transaction (one sync for a whole search's matches). */
  auditBatch(events: readonly AuditEvent[]): Promise<AuditEntry[]>;
  auditLog(filter?: { performerId?: string; type?: AuditType; afterSeq?: number; limit?: number }): Promise<AuditEntry[]>;

  /** Everything stored about one performer; vectors and artefact bytes as base64 only when `includeVectors`. */
  exportPerformer(id: string, opts?: { includeVectors?: boolean }): Promise<PerformerExport>;
  /** Re-encrypts every template and artefact under the provider's current key, a batch per transaction; reads stay valid. */
  rekey(newKeys: KeyProvider, opts?: { batchSize?: number }): Promise<RekeyReport>;
  /** Flushes the write-ahead log into the main file and truncates it (so deleted data leaves the WAL). */
  checkpoint(): Promise<void>;
}
