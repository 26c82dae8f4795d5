import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import { visualFingerprint } from '../face/fingerprint';
import { AUDIO_FINGERPRINT_VERSION, AUDIO_FP_HOP_SECONDS, type AudioFingerprint } from '../media/audio-fingerprint';
import { openSqliteStore, type SqliteStore } from '../store/sqlite';
import { ReferenceOrigins, bundleFingerprints, unbundleFingerprints } from './origins';

const CONSENT = { grantedBy: 'performer', grantedAt: '2026-01-01T00:00:00Z', scope: 'monitoring' };

function randomWords(r: () => number, n: number): Uint32Array {
  return Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) >>> 0);
}

function audio(subprints: Uint32Array): AudioFingerprint {
  return { kind: 'audio', version: AUDIO_FINGERPRINT_VERSION, hopSeconds: AUDIO_FP_HOP_SECONDS, subprints, voiced: new Uint8Array(subprints.length).fill(1) };
}

describe('ReferenceOrigins', () => {
  let dir: string;
  let store: SqliteStore;
  const r = rng(7);
  const photoHash = randomWords(r, 2);
  const recording = randomWords(r, 3000); // 30 s of sub-fingerprints
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-origins-'));
    store = await openSqliteStore({ path: path.join(dir, 'o.db'), key: crypto.randomBytes(32) });
    const template = (label: string, modality: 'face' | 'voice') => ({ modelId: modality === 'face' ? 'f' : 'v', modality, kind: 'item' as const, vector: unitVector(r, modality === 'face' ? 8 : 4), referenceHash: fakeHash(label), quality: 1 });
    // A performer whose photo and recording both carry fingerprints.
    const a = await store.createWithEnrollment(
      { name: 'A', consent: CONSENT },
      [
        { sha256: fakeHash('a-photo'), modality: 'face', quality: {}, artifacts: [{ kind: 'fingerprint', data: bundleFingerprints([visualFingerprint([{ time: 0, hash: photoHash, mirror: randomWords(r, 2), verify: randomWords(r, 4), mirrorVerify: randomWords(r, 4) }], { still: true })]) }] },
        { sha256: fakeHash('a-voice'), modality: 'voice', quality: {}, artifacts: [{ kind: 'fingerprint', data: bundleFingerprints([audio(recording)]) }] },
      ],
      [template('a-photo', 'face'), template('a-voice', 'voice')],
    );
    ids.a = a.performer.id;
    // Enrolled before fingerprints: no artefact.
    const b = await store.createWithEnrollment({ name: 'B', consent: CONSENT }, [{ sha256: fakeHash('b-photo'), modality: 'face', quality: {} }], [template('b-photo', 'face')]);
    ids.b = b.performer.id;
    // A damaged fingerprint is left out: its performer is not covered.
    const c = await store.createWithEnrollment(
      { name: 'C', consent: CONSENT },
      [{ sha256: fakeHash('c-photo'), modality: 'face', quality: {}, artifacts: [{ kind: 'fingerprint', data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }] }],
      [template('c-photo', 'face')],
    );
    ids.c = c.performer.id;
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a reused photo names its reference and owner, whoever the face matched', async () => {
    const o = await ReferenceOrigins.load(store);
    expect(o.hasVisual).toBe(true);
    expect(o.face(ids.a!, [{ time: 3, hashes: photoHash }])).toEqual({ kind: 'reference-reuse', referenceId: fakeHash('a-photo'), performerId: ids.a, referenceOffset: 0, similarity: expect.any(Number) });
    // Another performer's match on A's photo is still a reuse of A's reference.
    expect(o.face(ids.b!, [{ time: 0, hashes: photoHash }])).toMatchObject({ kind: 'reference-reuse', performerId: ids.a });
  });

  test('not found: new media when every reference has a fingerprint, unknown otherwise', async () => {
    const o = await ReferenceOrigins.load(store);
    const other = randomWords(rng(99), 2);
    expect(o.face(ids.a!, [{ time: 0, hashes: other }])).toEqual({ kind: 'new-media' });
    expect(o.face(ids.b!, [{ time: 0, hashes: other }])).toEqual({ kind: 'unknown' });
    expect(o.face(ids.c!, [{ time: 0, hashes: other }])).toEqual({ kind: 'unknown' });
    expect(o.face(ids.a!, [])).toEqual({ kind: 'unknown' });
  });

  test('a reused stretch of a recording gives its offset', async () => {
    const o = await ReferenceOrigins.load(store);
    const got = o.voice(ids.a!, audio(recording.slice(1000, 1500)));
    expect(got).toMatchObject({ kind: 'reference-reuse', referenceId: fakeHash('a-voice'), performerId: ids.a });
    expect(got.kind === 'reference-reuse' && Math.abs(got.referenceOffset - 10)).toBeLessThanOrEqual(0.05);
    expect(o.voice(ids.a!, audio(randomWords(rng(5), 500)))).toEqual({ kind: 'new-media' });
    expect(o.voice(ids.a!, { ...audio(randomWords(rng(5), 500)), voiced: new Uint8Array(500) })).toEqual({ kind: 'unknown' });
  });

  test('bundles round-trip; truncated or foreign bytes are E_DECODE', () => {
    const v = visualFingerprint([{ time: 0, hash: photoHash, mirror: photoHash, verify: randomWords(r, 4), mirrorVerify: randomWords(r, 4) }], { still: true });
    const back = unbundleFingerprints(bundleFingerprints([v, audio(recording.slice(0, 10))]));
    expect(back.map((f) => f.kind)).toEqual(['visual', 'audio']);
    const bytes = bundleFingerprints([v]);
    expect(() => unbundleFingerprints(bytes.subarray(0, bytes.length - 3))).toThrow(expect.objectContaining({ code: 'E_DECODE' }));
    expect(() => unbundleFingerprints(new Uint8Array([9, 9, 9]))).toThrow(expect.objectContaining({ code: 'E_DECODE' }));
  });
});
