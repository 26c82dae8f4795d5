import { LikenessError } from '../errors';

// The byte layout shared by serialized fingerprints (audio here, visual on the face floor): stored as opaque artefacts
// per reference, so every blob says what it is and which algorithm made it.

/** Leading byte of every serialized fingerprint (the container format; see the match floor's `deserializeFingerprint`). */
export const FINGERPRINT_FORMAT = 1;

/** Second byte: what the fingerprint is of. */
export const FINGERPRINT_KIND = { visual: 1, audio: 2 } as const;

/** The 8-byte header shared by the serialized fingerprints: format, kind, algorithm version, 0, then a u32 count. */
export function fingerprintHeader(kind: keyof typeof FINGERPRINT_KIND, version: number, count: number, bytes: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(8 + bytes);
  const view = new DataView(out.buffer);
  out[0] = FINGERPRINT_FORMAT;
  out[1] = FINGERPRINT_KIND[kind];
  out[2] = version;
  view.setUint32(4, count, true);
  return { out, view };
}

/**
 * Checks a serialized fingerprint's header and returns its count and a view on it. E_DECODE when the bytes are not
 * a fingerprint of this kind or are cut short; E_UNSUPPORTED for a format or algorithm version this build does not know.
 */
export function readFingerprintHeader(bytes: Uint8Array, kind: keyof typeof FINGERPRINT_KIND, version: number, bytesPerItem: (count: number) => number): { count: number; view: DataView } {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new LikenessError('E_DECODE', 'a fingerprint must be a Uint8Array of at least 8 bytes');
  if (bytes[0] !== FINGERPRINT_FORMAT) throw new LikenessError('E_UNSUPPORTED', `fingerprint format ${bytes[0]} is not supported (this build reads format ${FINGERPRINT_FORMAT})`);
  if (bytes[1] !== FINGERPRINT_KIND[kind]) throw new LikenessError('E_DECODE', `the bytes are not a ${kind} fingerprint (kind byte ${bytes[1]})`);
  if (bytes[2] !== version) throw new LikenessError('E_UNSUPPORTED', `${kind} fingerprint algorithm version ${bytes[2]} is not supported (this build makes version ${version}); re-enroll the reference`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(4, true);
  if (bytes.length !== 8 + bytesPerItem(count)) throw new LikenessError('E_DECODE', `${kind} fingerprint of ${count} items needs ${8 + bytesPerItem(count)} bytes, got ${bytes.length}`);
  return { count, view };
}

