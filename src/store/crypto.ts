import * as crypto from 'crypto';
import { LikenessError } from '../errors';
import type { KeyMaterial, KeyProvider } from './types';

/** Environment variable holding the template key: 64 hex characters or base64 of 32 bytes. */
export const KEY_ENV = 'LIKENESS_KEY';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Parses a 32-byte key written as 64 hex characters or as base64 (standard or URL-safe).
 * @throws LikenessError E_CRYPTO when it is neither.
 */
export function parseKey(text: string): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) return b;
  }
  throw new LikenessError(
    'E_CRYPTO',
    `${KEY_ENV} must be 32 bytes written as 64 hex characters or base64 (make one with \`openssl rand -hex 32\`)`,
  );
}

/**
 * A stable, non-secret id for a key: HMAC of a fixed label under the key, so it names the key without revealing it
 * and lets the store tell "wrong key" from "corrupt row".
 */
export function keyIdOf(key: Uint8Array): string {
  checkKeyLength(key);
  return 'k' + crypto.createHmac('sha256', key).update('likeness-guard key id v1').digest('hex').slice(0, 16);
}

/** Key material from raw bytes or text (hex/base64), with its derived id unless one is given. */
export function keyMaterial(key: Uint8Array | string, id?: string): KeyMaterial {
  const bytes = typeof key === 'string' ? parseKey(key) : key;
  checkKeyLength(bytes);
  return { id: id ?? keyIdOf(bytes), key: bytes };
}

/** A provider that holds one key (used for encrypting and for reading rows written under it). */
export function staticKeyProvider(key: Uint8Array | string, id?: string): KeyProvider {
  const m = keyMaterial(key, id);
  return (keyId?: string) => (keyId === undefined || keyId === m.id ? m : null);
}

/** The provider for `LIKENESS_KEY`, or null when it is unset or empty. */
export function envKeyProvider(env: NodeJS.ProcessEnv = process.env): KeyProvider | null {
  const v = env[KEY_ENV];
  return v ? staticKeyProvider(v) : null;
}

/** Variable with keys that may still decrypt templates but never encrypt (comma-separated), e.g. during a rotation. */
export const OLD_KEYS_ENV = 'LIKENESS_OLD_KEYS';

/** The keys listed in `LIKENESS_OLD_KEYS` (empty when unset). */
export function envOldKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[OLD_KEYS_ENV] ?? '').split(',').map((k) => k.trim()).filter((k) => k.length > 0);
}

/** Combines providers: the first one's current key encrypts; any of them may answer for an id. */
export function chainKeyProviders(...providers: KeyProvider[]): KeyProvider {
  return async (keyId?: string) => {
    for (const p of providers) {
      const m = await p(keyId);
      if (m) return m;
      if (keyId === undefined) return null;
    }
    return null;
  };
}

/**
 * Encrypts `plain` with AES-256-GCM under a fresh random 96-bit nonce. `aad` binds the ciphertext to its row
 * (template id, performer, model) so ciphertexts cannot be swapped between rows undetected.
 * @returns nonce and ciphertext with the 16-byte tag appended.
 */
export function seal(key: KeyMaterial, plain: Uint8Array, aad: string): { nonce: Buffer; data: Buffer } {
  const nonce = crypto.randomBytes(NONCE_BYTES);
  const c = crypto.createCipheriv('aes-256-gcm', key.key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  return { nonce, data };
}

/**
 * Decrypts what {@link seal} produced.
 * @throws LikenessError E_CRYPTO when the key is wrong or the row was altered or moved.
 */
export function open(key: KeyMaterial, nonce: Uint8Array, data: Uint8Array, aad: string): Buffer {
  if (nonce.length !== NONCE_BYTES || data.length < TAG_BYTES) {
    throw new LikenessError('E_CRYPTO', 'an encrypted template is malformed (wrong nonce or length)');
  }
  try {
    const d = crypto.createDecipheriv('aes-256-gcm', key.key, nonce);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([d.update(data.subarray(0, data.length - TAG_BYTES)), d.final()]);
  } catch (e) {
    throw new LikenessError(
      'E_CRYPTO',
      `a template failed authentication under key ${key.id}: the key is wrong or the database was altered`,
      { keyId: key.id },
      { cause: e },
    );
  }
}

function checkKeyLength(key: Uint8Array): void {
  if (key.length !== 32) throw new LikenessError('E_CRYPTO', `a template key must be 32 bytes, got ${key.length}`);
}
