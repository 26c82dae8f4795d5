// What the SQLite and PostgreSQL backends share: argument checks, key resolution, the template AAD and byte layout,
// consent audit details. Both backends import these so their semantics cannot drift apart.
import { LikenessError } from '../errors';
import { degeneracy, degenerateTemplateError } from '../kernels/vector';
import { str, invalid } from '../validate';
import { chainKeyProviders, envKeyProvider, staticKeyProvider } from './crypto';
import type { AuditEvent, AuditType, AuditValue, Consent, KeyProvider, NewReference, NewTemplate, TemplateKind } from './types';

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
export const FORBIDDEN_AUDIT_KEYS = /vector|embedding|landmark|fbank|signal|pixels/i;

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

/** Checks one new reference (E_INPUT). */
export function checkReference(r: NewReference, i: number): void {
  if (typeof r.sha256 !== 'string' || !SHA256_RE.test(r.sha256)) {
    throw invalid(`reference ${i}: sha256 must be 64 lowercase hex characters`);
  }
  if (r.modality !== 'face' && r.modality !== 'voice') {
    throw invalid(`reference ${i}: modality must be face or voice`);
  }
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
