// What the SQLite and PostgreSQL backends share: argument checks, key resolution, the template and artefact AAD and
// byte layout, row mapping, consent and enrollment audit details, key error messages. Both backends import these so
// their semantics cannot drift apart.
import { LikenessError } from '../errors';
import { degeneracy, degenerateTemplateError } from '../kernels/vector';
import { str, invalid } from '../validate';
import { normaliseConsent } from './consent';
import { chainKeyProviders, envKeyProvider, open as openSealed, seal, staticKeyProvider } from './crypto';
import type {
  ArtifactInfo,
  ArtifactKind,
  AuditEntry,
  AuditEvent,
  AuditType,
  AuditValue,
  Consent,
  JsonValue,
  KeyMaterial,
  KeyProvider,
  Modality,
  NewArtifact,
  NewReference,
  NewTemplate,
  Performer,
  PerformerInput,
  Reference,
  StoredArtifact,
  Template,
  TemplateInfo,
  TemplateKind,
} from './types';

/** Largest artefact the stores accept, in bytes (256 KiB); a larger one fails with E_TOO_LARGE. */
export const MAX_ARTIFACT_BYTES = 256 * 1024;
/** Every artefact kind the stores accept. */
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['thumbnail', 'fingerprint'];

/** A reference hash: sha256 as 64 lowercase hex characters. */
export const SHA256_RE = /^[0-9a-f]{64}$/;
/** Every audit event type the stores accept. */
export const AUDIT_TYPES: readonly AuditType[] = [
  'performer.create',
  'performer.update',
  'enroll',
  'delete',
  'consent.change',
  'match.reported',
  'match.suppressed',
  'export',
  'rekey',
];
/** Detail keys that would suggest biometric payloads; refused so the audit log stays free of them. */
export const FORBIDDEN_AUDIT_KEYS = /vector|embedding|landmark|fbank|signal|pixels|thumbnail|fingerprint|jpeg/i;

/** The current key's provider extended with read-only old keys (null stays null: no key, no encryption). */
export function withOldKeys(current: KeyProvider | null, oldKeys: ReadonlyArray<Uint8Array | string>): KeyProvider | null {
  if (!current || oldKeys.length === 0) return current;
  // chainKeyProviders asks only the first provider for the key to encrypt with, so old keys only ever decrypt.
  return chainKeyProviders(current, ...oldKeys.map((k) => staticKeyProvider(k)));
}

/** The key provider for a store's `key` option: `undefined` reads `LIKENESS_KEY`, `null` means none. */
export function resolveProvider(key: KeyProvider | Uint8Array | string | null | undefined): KeyProvider | null {
  if (key === null) return null;
  if (key === undefined) return envKeyProvider();
  if (typeof key === 'function') return key;
  return staticKeyProvider(key);
}

/** Now as ISO-8601 UTC. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** AAD binding a sealed vector to its row, so ciphertexts cannot be moved between rows or performers. */
export function templateAad(id: string, performerId: string, modelId: string, kind: TemplateKind, dim: number): string {
  return `likeness-template-v1\0${id}\0${performerId}\0${modelId}\0${kind}\0${dim}`;
}

/** A vector as float32 little-endian bytes (a copy). */
export function vectorBytes(v: Float32Array): Buffer {
  // Copy: the caller's array may be a view on a larger buffer. Float32 little-endian (every supported platform).
  return Buffer.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** Float32 little-endian bytes back to a vector of `dim` values. @throws LikenessError E_STORE on a length mismatch */
export function bytesVector(b: Buffer, dim: number): Float32Array {
  if (b.length !== dim * 4) throw new LikenessError('E_STORE', `a template has ${b.length} bytes, expected ${dim * 4}`);
  const out = new Float32Array(dim);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** The audit details of a consent change (no biometric data). */
export function consentAuditDetails(c: Consent | null): Record<string, AuditValue> {
  if (c === null) return { consent: false };
  return {
    consent: true,
    grantedBy: c.grantedBy,
    scope: c.scope,
    expiresAt: c.expiresAt ?? null,
    withdrawnAt: c.withdrawnAt ?? null,
    documentRef: c.documentRef ?? null,
  };
}

/** Checks one new reference and its artefacts (E_INPUT; E_TOO_LARGE for an artefact over {@link MAX_ARTIFACT_BYTES}). */
export function checkReference(r: NewReference, i: number): void {
  if (typeof r !== 'object' || r === null) throw invalid(`reference ${i} must be an object`);
  if (typeof r.sha256 !== 'string' || !SHA256_RE.test(r.sha256)) {
    throw invalid(`reference ${i}: sha256 must be 64 lowercase hex characters`);
  }
  if (r.modality !== 'face' && r.modality !== 'voice') {
    throw invalid(`reference ${i}: modality must be face or voice`);
  }
  if (r.artifacts === undefined) return;
  if (!Array.isArray(r.artifacts)) throw invalid(`reference ${i}: artifacts must be an array`);
  const seen = new Set<string>();
  r.artifacts.forEach((a: NewArtifact, j) => {
    if (typeof a !== 'object' || a === null) throw invalid(`reference ${i} artifact ${j} must be an object {kind, data}`);
    if (!ARTIFACT_KINDS.includes(a.kind)) throw invalid(`reference ${i} artifact ${j}: kind must be one of ${ARTIFACT_KINDS.join(', ')}`);
    if (seen.has(a.kind)) throw invalid(`reference ${i}: more than one ${a.kind} artifact (at most one per kind)`);
    seen.add(a.kind);
    if (!(a.data instanceof Uint8Array) || a.data.length === 0) throw invalid(`reference ${i} artifact ${j}: data must be a non-empty Uint8Array`);
    if (a.data.length > MAX_ARTIFACT_BYTES) {
      throw new LikenessError('E_TOO_LARGE', `reference ${i}: the ${a.kind} artifact has ${a.data.length} bytes, at most ${MAX_ARTIFACT_BYTES} are stored`, {
        bytes: a.data.length,
        maxBytes: MAX_ARTIFACT_BYTES,
      });
    }
  });
}

/** Checks an enrollment's arguments before any write (E_INPUT, E_TOO_LARGE). */
export function checkEnrollment(references: NewReference[], templates: NewTemplate[]): void {
  if (!Array.isArray(references)) throw invalid('references must be an array');
  if (!Array.isArray(templates)) throw invalid('templates must be an array');
  references.forEach(checkReference);
  templates.forEach(checkTemplate);
}

/** Checks a performer's name, id, aliases and consent; returns the aliases and the normalised consent (E_INPUT). */
export function checkPerformerInput(p: PerformerInput): { aliases: string[]; consent: Consent | null } {
  str('performer name', p.name);
  if (p.id !== undefined) str('performer id', p.id);
  const aliases = (p.aliases ?? []).map((a, i) => str(`alias ${i}`, a));
  const consent = p.consent === null ? null : normaliseConsent(p.consent);
  return { aliases, consent };
}

/** Checks an artefact kind argument (E_INPUT). */
export function checkArtifactKind(kind: unknown): ArtifactKind {
  if (!ARTIFACT_KINDS.includes(kind as ArtifactKind)) throw invalid(`artifact kind must be one of ${ARTIFACT_KINDS.join(', ')}`);
  return kind as ArtifactKind;
}

/** Checks one new template (E_INPUT). */
export function checkTemplate(t: NewTemplate, i: number): void {
  str(`template ${i} modelId`, t.modelId);
  if (!(t.vector instanceof Float32Array) || t.vector.length === 0) {
    throw invalid(`template ${i}: vector must be a non-empty Float32Array`);
  }
  // The last line of defence, on both backends: a degenerate vector (non-finite, zero, constant) is never written.
  const d = degeneracy(t.vector);
  if (d) throw degenerateTemplateError(`template ${i}`, d);
  if (t.kind !== 'item' && t.kind !== 'centroid') throw invalid(`template ${i}: kind must be item or centroid`);
  if (t.modality !== 'face' && t.modality !== 'voice') throw invalid(`template ${i}: bad modality`);
  if ((t.kind === 'item') !== (typeof t.referenceHash === 'string')) {
    throw invalid(`template ${i}: items need a referenceHash, centroids must have none`);
  }
  if (!Number.isFinite(t.quality) || t.quality < 0 || t.quality > 1) {
    throw invalid(`template ${i}: quality must be within [0, 1]`);
  }
}

/** Checks an audit event: known type, scalar details, nothing biometric-looking (E_INPUT). */
export function checkAudit(e: AuditEvent): void {
  if (!AUDIT_TYPES.includes(e.type)) throw invalid(`unknown audit event type ${String(e.type)}`);
  for (const [k, v] of Object.entries(e.details ?? {})) {
    if (FORBIDDEN_AUDIT_KEYS.test(k)) throw invalid(`audit detail "${k}" looks biometric; audit holds none`);
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw invalid(`audit detail "${k}" must be a string, number, boolean or null`);
    }
    if (typeof v === 'string' && v.length > 1024) throw invalid(`audit detail "${k}" is too long`);
  }
}

/** A performers row as both backends read it. */
export interface PerformerRow {
  id: string;
  name: string;
  aliases: string;
  consent: string | null;
  created_at: string;
  updated_at: string;
}

/** A refs row. */
export interface RefRow {
  performer_id: string;
  sha256: string;
  modality: Modality;
  quality: string;
  created_at: string;
}

/** A templates row (`seq`: PostgreSQL's insertion order; SQLite uses its rowid). */
export interface TemplateRow {
  seq?: string;
  id: string;
  performer_id: string;
  model_id: string;
  modality: Modality;
  kind: TemplateKind;
  reference_hash: string | null;
  quality: number;
  dim: number;
  key_id: string | null;
  nonce: Buffer | null;
  vector: Buffer;
  created_at: string;
}

/** An artifacts row joined with its reference's modality. */
export interface ArtifactRow {
  seq?: string;
  performer_id: string;
  reference_hash: string;
  modality: Modality;
  kind: ArtifactKind;
  bytes: number;
  key_id: string | null;
  nonce: Buffer | null;
  data: Buffer;
  created_at: string;
}

/** An audit row (`seq` is a string from PostgreSQL's bigint). */
export interface AuditRow {
  seq: number | string;
  at: string;
  type: AuditType;
  performer_id: string | null;
  details: string;
}

/** A performers row as a {@link Performer}. */
export function performerFromRow(r: PerformerRow): Performer {
  return {
    id: r.id,
    name: r.name,
    aliases: JSON.parse(r.aliases) as string[],
    consent: r.consent === null ? null : (JSON.parse(r.consent) as Consent),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A refs row as a {@link Reference}. */
export function refFromRow(r: RefRow): Reference {
  return { performerId: r.performer_id, sha256: r.sha256, modality: r.modality, quality: JSON.parse(r.quality) as JsonValue, createdAt: r.created_at };
}

/** A templates row's metadata. */
export function templateInfo(r: TemplateRow): TemplateInfo {
  return {
    id: r.id,
    performerId: r.performer_id,
    modelId: r.model_id,
    modality: r.modality,
    kind: r.kind,
    referenceHash: r.reference_hash,
    quality: r.quality,
    createdAt: r.created_at,
    dim: r.dim,
    encrypted: r.key_id !== null,
    keyId: r.key_id,
  };
}

/** An artifacts row's metadata. */
export function artifactInfo(r: ArtifactRow): ArtifactInfo {
  return {
    performerId: r.performer_id,
    referenceHash: r.reference_hash,
    modality: r.modality,
    kind: r.kind,
    createdAt: r.created_at,
    bytes: Number(r.bytes),
    encrypted: r.key_id !== null,
    keyId: r.key_id,
  };
}

/** An audit row as an {@link AuditEntry}. */
export function auditFromRow(r: AuditRow): AuditEntry {
  return { seq: Number(r.seq), at: r.at, type: r.type, performerId: r.performer_id, details: JSON.parse(r.details) as Record<string, AuditValue> };
}

/** The audit details of an enrollment (counts and model ids only). */
export function enrollAuditDetails(added: number, duplicates: number, written: number, artifacts: number, templates: readonly NewTemplate[]): Record<string, AuditValue> {
  return { added, duplicates, templates: written, artifacts, models: [...new Set(templates.map((t) => t.modelId))].join(',') };
}

/** A template's vector sealed for its row (or plaintext without a key): the values of its key_id, nonce, vector columns. */
export function sealTemplate(key: KeyMaterial | null, id: string, performerId: string, t: NewTemplate): { keyId: string | null; nonce: Buffer | null; data: Buffer; dim: number } {
  const dim = t.vector.length;
  const plain = vectorBytes(t.vector);
  if (!key) return { keyId: null, nonce: null, data: plain, dim };
  const s = seal(key, plain, templateAad(id, performerId, t.modelId, t.kind, dim));
  plain.fill(0);
  return { keyId: key.id, nonce: s.nonce, data: s.data, dim };
}

/** A templates row decrypted with the loaded keys (E_CRYPTO when its key is not loaded or does not open it). */
export function decodeTemplate(r: TemplateRow, keys: ReadonlyMap<string, KeyMaterial>): Template {
  let bytes = r.vector;
  if (r.key_id !== null) {
    bytes = openSealed(loadedKey(keys, r.key_id, 'templates'), r.nonce ?? Buffer.alloc(0), r.vector, templateAad(r.id, r.performer_id, r.model_id, r.kind, r.dim));
  }
  const vector = bytesVector(bytes, r.dim);
  if (r.key_id !== null) bytes.fill(0);
  const { dim: _dim, encrypted: _encrypted, keyId: _keyId, ...fields } = templateInfo(r);
  return { ...fields, vector };
}

/** AAD binding a sealed artefact to its row (performer, reference, kind), so it cannot be moved undetected. */
export function artifactAad(performerId: string, referenceHash: string, kind: ArtifactKind): string {
  return `likeness-artifact-v1\0${performerId}\0${referenceHash}\0${kind}`;
}

/** An artefact's bytes sealed for its row (a copy in plaintext without a key). */
export function sealArtifact(key: KeyMaterial | null, performerId: string, referenceHash: string, kind: ArtifactKind, data: Uint8Array): { keyId: string | null; nonce: Buffer | null; data: Buffer } {
  if (!key) return { keyId: null, nonce: null, data: Buffer.from(data) };
  const s = seal(key, data, artifactAad(performerId, referenceHash, kind));
  return { keyId: key.id, nonce: s.nonce, data: s.data };
}

/** An artifacts row decrypted with the loaded keys (E_CRYPTO when its key is not loaded or does not open it). */
export function decodeArtifact(r: ArtifactRow, keys: ReadonlyMap<string, KeyMaterial>): StoredArtifact {
  let data: Buffer = r.data;
  if (r.key_id !== null) {
    data = openSealed(loadedKey(keys, r.key_id, 'artifacts'), r.nonce ?? Buffer.alloc(0), r.data, artifactAad(r.performer_id, r.reference_hash, r.kind));
  } else {
    data = Buffer.from(r.data);
  }
  if (data.length !== Number(r.bytes)) throw new LikenessError('E_STORE', `an artifact has ${data.length} bytes, expected ${r.bytes}`);
  return {
    performerId: r.performer_id,
    referenceHash: r.reference_hash,
    modality: r.modality,
    kind: r.kind,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    createdAt: r.created_at,
  };
}

/** The E_CRYPTO of an enrollment without a key into a store holding encrypted rows. */
export function keyMissingError(ids: readonly string[]): LikenessError {
  return new LikenessError(
    'E_CRYPTO',
    `this store holds templates encrypted under key ${ids.join(', ')}: set LIKENESS_KEY to that key (or pass it) before enrolling into it`,
    { keyId: ids[0]! },
  );
}

/** The E_CRYPTO of an enrollment whose key is not the store's (`given`: a key was given for that id but did not open it). */
/**
 * Whether key material `m` opens the stored rows written under key `id`: `m` goes into the cache, one sample row
 * (a template, else an artefact) is decrypted, and the key leaves the cache again when it fails. Used by both
 * backends before any write (the configured key must open what is already stored).
 */
export function keyOpens(keyCache: Map<string, KeyMaterial>, id: string, m: KeyMaterial | null | undefined, sample: (() => unknown) | undefined): boolean {
  if (!m || !sample) return false;
  try {
    keyCache.set(id, m);
    sample();
    return true;
  } catch {
    keyCache.delete(id);
    return false;
  }
}

export function wrongKeyError(current: KeyMaterial, id: string, given: boolean): LikenessError {
  return new LikenessError(
    'E_CRYPTO',
    `the configured key ${current.id} is not this store's key: its templates are encrypted under ${id}` +
      `${given ? ', which the key given for it does not open' : ''}. Nothing was written. Set LIKENESS_KEY to the store's key ` +
      '(`likeness doctor` shows its id), or to rotate keep the old one in LIKENESS_OLD_KEYS and run `likeness rekey`',
    { keyId: id, configuredKeyId: current.id },
  );
}

/** The E_CRYPTO of a read of rows under a key that is not available. */
export function unknownKeyError(current: KeyMaterial | null, id: string): LikenessError {
  return new LikenessError(
    'E_CRYPTO',
    current
      ? `templates are encrypted with key ${id} but the configured key is ${current.id}: set the right LIKENESS_KEY (and LIKENESS_OLD_KEYS during a rotation)`
      : `templates are encrypted with key ${id}: set LIKENESS_KEY to read them`,
    { keyId: id },
  );
}

/** SQL listing every key id in use by templates and artefacts (the key state writes are checked against). */
export const KEY_IDS_SQL = 'SELECT key_id FROM templates WHERE key_id IS NOT NULL UNION SELECT key_id FROM artifacts WHERE key_id IS NOT NULL ORDER BY key_id';

/**
 * Runs `batch` until it reports 0 rows, yielding to the event loop between batches (so this process's readers, and
 * other processes' writers, get their turn during a long rotation); returns the rows and batches done.
 */
export async function sweepBatches(batch: () => number | Promise<number>): Promise<{ rows: number; batches: number }> {
  let rows = 0;
  let batches = 0;
  for (;;) {
    const n = await batch();
    if (n === 0) return { rows, batches };
    rows += n;
    batches++;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The loaded key a sealed row was written under (E_CRYPTO when it is not loaded). */
function loadedKey(keys: ReadonlyMap<string, KeyMaterial>, keyId: string, what: string): KeyMaterial {
  const key = keys.get(keyId);
  if (!key) throw new LikenessError('E_CRYPTO', `no key loaded for ${what} under key ${keyId}`, { keyId });
  return key;
}
