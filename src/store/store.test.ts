import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LikenessError } from '../errors';
import { describeIf } from '../../test/helpers/requires';
import { storeBackends } from '../../test/helpers/store-backends';
import { fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { Registry } from '../match/registry';
import { MAX_ARTIFACT_BYTES } from './common';
import { keyIdOf, parseKey, staticKeyProvider } from './crypto';
import { migrate } from './migrations';
import { openStore } from './open';
import { pgMigrate } from './pg-migrations';
import type { KeyProvider, NewArtifact, NewReference, NewTemplate, Store, StoredArtifact } from './types';

// The store contract, run against every backend from this one suite: SQLite (a file) and PostgreSQL (a throwaway
// cluster of Debian's postgresql-15, skipped where its binaries are missing, failing under LIKENESS_STRICT=1).

const CONSENT = { grantedBy: 'the performer', grantedAt: '2026-01-01T00:00:00Z', scope: 'monitoring' };
const KEY_A = crypto.randomBytes(32);
const KEY_B = crypto.randomBytes(32);

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LikenessError) return e.code;
    throw e;
  }
  return 'resolved';
}

function item(sha: string, modelId: string, v: Float32Array): NewTemplate {
  return { modelId, modality: 'face', kind: 'item', vector: v, referenceHash: sha, quality: 0.8 };
}

async function seeded(store: Store, name: string, n: number, seed: number) {
  const r = rng(seed);
  const p = await store.upsertPerformer({ name, consent: CONSENT });
  const refs = Array.from({ length: n }, (_, i) => ({ sha256: fakeHash(`${name}-${i}`), modality: 'face' as const, quality: { i } }));
  const vecs = refs.map(() => unitVector(r, 64));
  await store.addEnrollment(
    p.id,
    refs,
    refs.map((ref, i) => item(ref.sha256, 'm1', vecs[i]!)),
  );
  return { performer: p, refs, vecs };
}

/** A fake thumbnail (JPEG magic, then random bytes) and fingerprint for one reference. */
function artefacts(seed: string, n = 1500): NewArtifact[] {
  const h = crypto.createHash('sha256').update(seed).digest();
  const rand = (len: number) => Buffer.concat(Array.from({ length: Math.ceil(len / 32) }, (_, i) => crypto.createHash('sha256').update(h).update(String(i)).digest())).subarray(0, len);
  return [
    { kind: 'thumbnail', data: new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), rand(n)])) },
    { kind: 'fingerprint', data: new Uint8Array(rand(256)) },
  ];
}

/** References with artefacts and their item templates for one performer. */
function withArtefacts(name: string, n: number, seed: number): { refs: NewReference[]; templates: NewTemplate[] } {
  const r = rng(seed);
  const refs = Array.from({ length: n }, (_, i) => ({ sha256: fakeHash(`${name}-a${i}`), modality: 'face' as const, quality: { i }, artifacts: artefacts(`${name}-${i}`) }));
  return { refs, templates: refs.map((ref) => item(ref.sha256, 'm1', unitVector(r, 64))) };
}

const plain = (a: StoredArtifact) => ({ ref: a.referenceHash, kind: a.kind, modality: a.modality, data: Buffer.from(a.data).toString('hex') });
const hexOf = (ref: NewReference, kind: string) => Buffer.from(ref.artifacts!.find((a) => a.kind === kind)!.data).toString('hex');

for (const backend of storeBackends()) {
  describeIf(backend.available, 'PostgreSQL 15 binaries (apt-get install postgresql-15)')(`${backend.name} store`, () => {
    let loc = '';
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      loc = await backend.fresh();
    });
    const open = (o: { key: KeyProvider | Uint8Array | string | null }): Promise<Store> => openStore({ location: loc, ...o });

    test('performers, consent validation, enrollment, dedup by hash', async () => {
      const store = await open({ key: null });
      expect(await code(store.upsertPerformer({ name: '', consent: null }))).toBe('E_INPUT');
      expect(await code(store.upsertPerformer({ name: 'x', consent: { ...CONSENT, grantedAt: 'soon' } }))).toBe('E_INPUT');
      const { performer, refs, vecs } = await seeded(store, 'Ada', 3, 1);
      expect((await store.getPerformer(performer.id))!.consent!.grantedAt).toBe('2026-01-01T00:00:00.000Z');
      // Upsert with an id: creates when new (imports from another backend keep their ids), updates otherwise.
      const imported = await store.upsertPerformer({ id: 'imported-1', name: 'Imp', consent: null });
      expect(imported.id).toBe('imported-1');
      const renamed = await store.upsertPerformer({ id: 'imported-1', name: 'Imp 2', aliases: ['I'], consent: CONSENT });
      expect(renamed).toMatchObject({ name: 'Imp 2', aliases: ['I'], createdAt: imported.createdAt });
      expect((await store.auditLog({ performerId: 'imported-1' })).map((e) => e.type)).toEqual([
        'performer.create',
        'performer.update',
        'consent.change',
      ]);
      expect(await store.references(performer.id)).toHaveLength(3);
      const c0 = await store.changeCounter();

      // Same media again, same model: recognised, nothing duplicated.
      const again = await store.addEnrollment(performer.id, [refs[0]!], [item(refs[0]!.sha256, 'm1', vecs[0]!)]);
      expect(again).toMatchObject({ added: [], duplicates: [refs[0]!.sha256], templatesWritten: 0 });
      expect(await store.performerTemplates(performer.id, 'm1')).toHaveLength(3);
      // Same media, a new model (re-embedding from supplied media): the new model's template is added.
      const v2 = unitVector(rng(9), 32);
      const re = await store.addEnrollment(performer.id, [refs[0]!], [item(refs[0]!.sha256, 'm2', v2)]);
      expect(re).toMatchObject({ duplicates: [refs[0]!.sha256], templatesWritten: 1 });
      expect(re.changeCounter).toBeGreaterThan(c0);
      const m2 = await store.performerTemplates(performer.id, 'm2');
      expect(Array.from(m2[0]!.vector)).toEqual(Array.from(v2));
      expect(await store.references(performer.id)).toHaveLength(3);
      expect((await store.models()).map((m) => [m.modelId, m.templates, m.dim])).toEqual([
        ['m1', 3, 64],
        ['m2', 1, 32],
      ]);
      await store.close();
      expect(await code(store.listPerformers())).toBe('E_STORE');
    });

    test('an enrollment that fails mid-way writes nothing', async () => {
      const store = await open({ key: KEY_A });
      const p = await store.upsertPerformer({ name: 'Bo', consent: null });
      const good = fakeHash('good');
      const v = unitVector(rng(2), 16);
      const before = await store.changeCounter();
      // Second template points at media that is not part of the enrollment: the whole transaction must roll back.
      const r = store.addEnrollment(p.id, [{ sha256: good, modality: 'face', quality: null }], [
        item(good, 'm1', v),
        item(fakeHash('missing'), 'm1', v),
      ]);
      expect(await code(r)).toBe('E_INPUT');
      expect(await store.references(p.id)).toEqual([]);
      expect(await store.performerTemplates(p.id)).toEqual([]);
      expect(await store.changeCounter()).toBe(before);
      expect(await code(store.addEnrollment('nobody', [], []))).toBe('E_NOT_FOUND');
      expect(await code(store.addEnrollment(p.id, [{ sha256: 'abc', modality: 'face', quality: null }], []))).toBe('E_INPUT');
      await store.close();
    });

    test('hard delete cascades, bumps the counter, and is audited', async () => {
      const store = await open({ key: KEY_A });
      const a = await seeded(store, 'A', 2, 3);
      const b = await seeded(store, 'B', 2, 4);
      const before = await store.changeCounter();
      expect(await store.deletePerformer(a.performer.id)).toBe(true);
      expect(await store.deletePerformer(a.performer.id)).toBe(false);
      expect(await store.changeCounter()).toBeGreaterThan(before);
      expect(await store.getPerformer(a.performer.id)).toBeNull();
      expect(await store.references(a.performer.id)).toEqual([]);
      const left = [];
      for await (const t of store.templates('m1')) left.push(t.performerId);
      expect(left).toEqual([b.performer.id, b.performer.id]);
      const log = await store.auditLog({ performerId: a.performer.id });
      expect(log.map((e) => e.type)).toEqual(['performer.create', 'enroll', 'delete']);
      expect(log[2]!.details).toEqual({ refs: 2, templates: 2, artifacts: 0 });
      await store.close();
    });

    test('the audit log is append-only and refuses biometric-looking details', async () => {
      const store = await open({ key: null });
      await store.audit({ type: 'match.reported', performerId: 'p1', details: { score: 0.7, decision: 'match' } });
      expect(await code(store.audit({ type: 'enroll', details: { embedding: 'AAAA' } }))).toBe('E_INPUT');
      expect(await code(store.audit({ type: 'enroll', details: { thumbnail: '/9j/4AAQ' } }))).toBe('E_INPUT');
      expect(await code(store.audit({ type: 'enroll', details: { fingerprintData: 'AQID' } }))).toBe('E_INPUT');
      expect(
        await code(store.audit({ type: 'enroll', details: { scores: [0.1, 0.2] as unknown as number } })),
      ).toBe('E_INPUT');
      expect(await code(store.audit({ type: 'nope' as 'enroll' }))).toBe('E_INPUT');
      // A batch is one transaction and is validated as a whole: one bad event appends nothing.
      expect(await code(store.auditBatch([{ type: 'export' }, { type: 'enroll', details: { vector: 1 } }]))).toBe('E_INPUT');
      expect((await store.auditBatch([{ type: 'export' }, { type: 'rekey' }])).map((e) => e.seq)).toEqual([2, 3]);
      await store.close();
      expect(Number((await backend.raw<{ n: number }>(loc, 'SELECT count(*) AS n FROM audit'))[0]!.n)).toBe(3);
      // Compare messages: a native driver's error may come from another realm than jest's Error (no instanceof).
      const failure = async (p: Promise<unknown>): Promise<string> => p.then(() => 'resolved', (e: unknown) => String((e as { message?: unknown }).message ?? e));
      expect(await failure(backend.raw(loc, 'UPDATE audit SET type = ?', ['x']))).toMatch(/append-only/);
      expect(await failure(backend.raw(loc, 'DELETE FROM audit'))).toMatch(/append-only/);
      expect(Number((await backend.raw<{ n: number }>(loc, 'SELECT count(*) AS n FROM audit'))[0]!.n)).toBe(3);
    });

    test('export holds performer, references, template metadata, audit; vectors only on request', async () => {
      const store = await open({ key: KEY_A });
      const { performer, vecs } = await seeded(store, 'Cy', 2, 5);
      const plain = await store.exportPerformer(performer.id);
      expect(plain.performer).toEqual(await store.getPerformer(performer.id));
      expect(plain.references).toHaveLength(2);
      expect(plain.templates).toHaveLength(2);
      expect(plain.templates[0]).toMatchObject({ modelId: 'm1', kind: 'item', dim: 64, encrypted: true, keyId: keyIdOf(KEY_A) });
      expect(plain.templates[0]!.vector).toBeUndefined();
      expect(plain.audit.map((e) => e.type)).toEqual(['performer.create', 'enroll', 'export']);
      expect(JSON.stringify(plain)).not.toContain('vector');
      const full = await store.exportPerformer(performer.id, { includeVectors: true });
      const back = full.templates.map((t) => {
        const b = Buffer.from(t.vector!, 'base64');
        return Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4));
      });
      expect(back).toEqual(vecs.map((v) => Array.from(v)));
      expect(await code(store.exportPerformer('nobody'))).toBe('E_NOT_FOUND');
      await store.close();
    });

    test('keys: parsing, wrong key, missing key, swapped ciphertexts', async () => {
      expect(Buffer.from(parseKey(KEY_A.toString('hex'))).equals(KEY_A)).toBe(true);
      expect(Buffer.from(parseKey(KEY_A.toString('base64'))).equals(KEY_A)).toBe(true);
      expect(() => parseKey('abc')).toThrow(expect.objectContaining({ code: 'E_CRYPTO' }));
      expect(await code(open({ key: 'not-a-key' }))).toBe('E_CRYPTO');

      const store = await open({ key: KEY_A.toString('hex') });
      expect(await store.info()).toMatchObject({ encrypted: true, keyId: keyIdOf(KEY_A) });
      const a = await seeded(store, 'A', 2, 6);
      await store.close();

      const wrong = await open({ key: KEY_B });
      expect(await wrong.listPerformers()).toHaveLength(1); // metadata stays readable
      expect(await code(wrong.performerTemplates(a.performer.id))).toBe('E_CRYPTO');
      await wrong.close();
      // Same id claimed for a different key: authentication fails, still E_CRYPTO.
      const forged = await open({ key: staticKeyProvider(KEY_B, keyIdOf(KEY_A)) });
      expect(await code(forged.performerTemplates(a.performer.id))).toBe('E_CRYPTO');
      await forged.close();
      const none = await open({ key: null });
      expect((await none.info()).encrypted).toBe(false);
      expect(await code(none.performerTemplates(a.performer.id))).toBe('E_CRYPTO');
      const p = await none.upsertPerformer({ name: 'late', consent: null });
      const v = unitVector(rng(1), 64);
      const sha = fakeHash('late');
      expect(await code(none.addEnrollment(p.id, [{ sha256: sha, modality: 'face', quality: 1 }], [item(sha, 'm1', v)]))).toBe(
        'E_CRYPTO',
      );
      await none.close();

      // Moving one row's ciphertext onto another row is detected (AAD binds id, performer, model).
      const rows = await backend.raw<{ id: string; nonce: Buffer; vector: Buffer }>(loc, `SELECT id, nonce, vector FROM templates ORDER BY ${backend.order}`);
      await backend.raw(loc, 'UPDATE templates SET nonce = ?, vector = ? WHERE id = ?', [rows[1]!.nonce, rows[1]!.vector, rows[0]!.id]);
      const back = await open({ key: KEY_A });
      expect(await code(back.performerTemplates(a.performer.id))).toBe('E_CRYPTO');
      await back.close();
    });

    test('rekey re-encrypts in batches while reads stay valid', async () => {
      const store = await open({ key: null });
      const people = [];
      for (let i = 0; i < 6; i++) people.push(await seeded(store, `P${i}`, 3, 10 + i));
      // Plaintext store -> key A (first encryption), then A -> B.
      expect((await store.rekey(staticKeyProvider(KEY_A))).reencrypted).toBe(18);
      const expected = new Map(people.flatMap((p) => p.vecs.map((v, i) => [p.refs[i]!.sha256, Array.from(v)] as const)));
      const pending = store.rekey(staticKeyProvider(KEY_B), { batchSize: 2 });
      let reads = 0;
      const seenKeys = new Set<string>();
      let done = false;
      void pending.then(
        () => (done = true),
        () => (done = true),
      );
      for (let spins = 0; !done && spins < 1000; spins++) {
        // Let the rekey's between-batch yield (a macrotask) run, as a real event loop would.
        await new Promise((r) => setImmediate(r));
        const info = await store.info();
        info.templateKeys.forEach((k) => seenKeys.add(String(k.keyId)));
        for await (const t of store.templates('m1')) {
          expect(Array.from(t.vector)).toEqual(expected.get(t.referenceHash!));
          reads++;
        }
      }
      const report = await pending;
      expect(report).toMatchObject({ reencrypted: 18, batches: 9, keyId: keyIdOf(KEY_B) });
      expect(reads).toBeGreaterThan(0);
      expect(seenKeys.has(keyIdOf(KEY_A))).toBe(true);
      expect((await store.info()).templateKeys).toEqual([{ keyId: keyIdOf(KEY_B), count: 18 }]);
      expect((await store.auditLog({ type: 'rekey' })).length).toBe(2);
      await store.close();

      const withB = await open({ key: KEY_B });
      let n = 0;
      for await (const t of withB.templates('m1')) {
        expect(Array.from(t.vector)).toEqual(expected.get(t.referenceHash!));
        n++;
      }
      expect(n).toBe(18);
      await withB.close();
      const withA = await open({ key: KEY_A });
      expect(await code(withA.performerTemplates(people[0]!.performer.id))).toBe('E_CRYPTO');
      await withA.close();
    });

    test('artefacts: stored encrypted with the enrollment, read back per performer and per kind, counter moves', async () => {
      const store = await open({ key: KEY_A });
      const a = withArtefacts('ArtA', 2, 70);
      const c0 = await store.changeCounter();
      const { performer: pa, write } = await store.createWithEnrollment({ name: 'ArtA', consent: CONSENT }, a.refs, a.templates);
      expect(write).toMatchObject({ artifactsWritten: 4, templatesWritten: 2 });
      expect(await store.changeCounter()).toBeGreaterThan(c0);
      const pb = await store.upsertPerformer({ name: 'ArtB', consent: null });
      const b = withArtefacts('ArtB', 1, 71);
      expect((await store.addEnrollment(pb.id, b.refs, b.templates)).artifactsWritten).toBe(2);

      const mine = await store.referenceArtifacts(pa.id);
      expect(mine.map(plain)).toEqual(
        a.refs.flatMap((ref) => ['thumbnail', 'fingerprint'].map((kind) => ({ ref: ref.sha256, kind, modality: 'face', data: hexOf(ref, kind) }))),
      );
      expect(mine[0]!.data).toBeInstanceOf(Uint8Array);
      expect(mine.every((x) => x.performerId === pa.id && !Number.isNaN(Date.parse(x.createdAt)))).toBe(true);
      expect((await store.referenceArtifacts(pa.id, 'thumbnail')).map((x) => x.referenceHash)).toEqual(a.refs.map((r) => r.sha256));
      // All performers, one kind, insertion order (what a fingerprint index is built from).
      const all: StoredArtifact[] = [];
      for await (const x of store.artifacts('fingerprint')) all.push(x);
      expect(all.map((x) => [x.performerId, x.referenceHash])).toEqual([
        [pa.id, a.refs[0]!.sha256],
        [pa.id, a.refs[1]!.sha256],
        [pb.id, b.refs[0]!.sha256],
      ]);
      expect(all.map((x) => Buffer.from(x.data).toString('hex'))).toEqual([...a.refs, ...b.refs].map((r) => hexOf(r, 'fingerprint')));
      expect(await store.referenceArtifacts('nobody')).toEqual([]);

      // At rest: every row under the key, no plaintext bytes (not even the JPEG magic), no audit detail with bytes.
      const rows = await backend.raw<{ key_id: string; data: Buffer; nonce: Buffer }>(loc, 'SELECT key_id, data, nonce FROM artifacts');
      expect(rows).toHaveLength(6);
      for (const r of rows) {
        expect(r.key_id).toBe(keyIdOf(KEY_A));
        expect(r.data.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
      }
      const stored = Buffer.concat(rows.map((r) => r.data)).toString('hex');
      for (const ref of [...a.refs, ...b.refs]) for (const kind of ['thumbnail', 'fingerprint']) expect(stored).not.toContain(hexOf(ref, kind).slice(8, 72));
      expect(await store.info()).toMatchObject({ artifactKeys: [{ keyId: keyIdOf(KEY_A), count: 6 }] });
      const log = JSON.stringify(await store.auditLog());
      expect(log).not.toContain(Buffer.from(a.refs[0]!.artifacts![0]!.data).toString('base64').slice(0, 40));
      expect((await store.auditLog({ performerId: pa.id, type: 'enroll' }))[0]!.details).toMatchObject({ artifacts: 4 });

      // A reference the performer already has: a stored artefact is never replaced...
      const again = await store.addEnrollment(pa.id, [{ ...a.refs[0]!, artifacts: artefacts('other') }], []);
      expect(again).toMatchObject({ duplicates: [a.refs[0]!.sha256], artifactsWritten: 0 });
      expect((await store.referenceArtifacts(pa.id)).map(plain)).toEqual(mine.map(plain));
      // ...but one enrolled without artefacts (before they existed) gains them when its media is enrolled again.
      const older = await seeded(store, 'Older', 1, 72);
      const c1 = await store.changeCounter();
      const late = await store.addEnrollment(older.performer.id, [{ ...older.refs[0]!, artifacts: artefacts('late') }], []);
      expect(late).toMatchObject({ added: [], duplicates: [older.refs[0]!.sha256], artifactsWritten: 2 });
      expect(late.changeCounter).toBeGreaterThan(c1);
      expect((await store.referenceArtifacts(older.performer.id)).map((x) => x.kind)).toEqual(['thumbnail', 'fingerprint']);

      // Reads need the key; a ciphertext moved onto another row fails authentication.
      await store.close();
      const wrong = await open({ key: KEY_B });
      expect(await code(wrong.referenceArtifacts(pa.id))).toBe('E_CRYPTO');
      await wrong.close();
      const none = await open({ key: null });
      expect(await code(none.referenceArtifacts(pa.id))).toBe('E_CRYPTO');
      await none.close();
      const raw = await backend.raw<{ nonce: Buffer; data: Buffer }>(loc, "SELECT nonce, data FROM artifacts WHERE kind = 'fingerprint' AND performer_id = ?", [pb.id]);
      await backend.raw(loc, "UPDATE artifacts SET nonce = ?, data = ? WHERE kind = 'fingerprint' AND reference_hash = ?", [raw[0]!.nonce, raw[0]!.data, a.refs[0]!.sha256]);
      const back = await open({ key: KEY_A });
      expect(await code(back.referenceArtifacts(pa.id, 'fingerprint'))).toBe('E_CRYPTO');
      expect((await back.referenceArtifacts(pa.id, 'thumbnail')).length).toBe(2);
      await back.close();
    });

    test('artefacts: bad input is E_INPUT, an oversized one E_TOO_LARGE, and a failing enrollment writes none', async () => {
      const store = await open({ key: KEY_A });
      const p = await store.upsertPerformer({ name: 'Cap', consent: null });
      const sha = fakeHash('cap');
      const v = unitVector(rng(3), 16);
      const ref = (artifacts: unknown): NewReference => ({ sha256: sha, modality: 'face', quality: null, artifacts: artifacts as NewArtifact[] });
      const enroll = (artifacts: unknown) => store.addEnrollment(p.id, [ref(artifacts)], [item(sha, 'm1', v)]);
      expect(await code(enroll([{ kind: 'thumbnail', data: new Uint8Array(MAX_ARTIFACT_BYTES + 1) }]))).toBe('E_TOO_LARGE');
      expect(await code(enroll([{ kind: 'selfie', data: new Uint8Array(4) }]))).toBe('E_INPUT');
      expect(await code(enroll([{ kind: 'thumbnail', data: new Uint8Array(0) }]))).toBe('E_INPUT');
      expect(await code(enroll([{ kind: 'thumbnail', data: 'jpeg' }]))).toBe('E_INPUT');
      expect(await code(enroll([{ kind: 'thumbnail', data: new Uint8Array(4) }, { kind: 'thumbnail', data: new Uint8Array(4) }]))).toBe('E_INPUT');
      expect(await code(enroll('thumb'))).toBe('E_INPUT');
      expect(await code(store.createWithEnrollment({ name: 'Big', consent: null }, [ref([{ kind: 'fingerprint', data: new Uint8Array(MAX_ARTIFACT_BYTES + 1) }])], [item(sha, 'm1', v)]))).toBe('E_TOO_LARGE');
      expect(await code(store.referenceArtifacts(p.id, 'selfie' as 'thumbnail'))).toBe('E_INPUT');
      expect(await code((async () => { for await (const x of store.artifacts('nope' as 'thumbnail')) void x; })())).toBe('E_INPUT');
      // Exactly at the cap is stored.
      expect((await enroll([{ kind: 'fingerprint', data: new Uint8Array(MAX_ARTIFACT_BYTES).fill(7) }])).artifactsWritten).toBe(1);

      // All or nothing: the second template points at media outside the enrollment, so nothing of it is written.
      const before = await store.changeCounter();
      const good = withArtefacts('Roll', 2, 4);
      expect(await code(store.addEnrollment(p.id, good.refs, [...good.templates, item(fakeHash('missing'), 'm1', v)]))).toBe('E_INPUT');
      expect(await code(store.createWithEnrollment({ name: 'Roll', consent: null }, good.refs, [...good.templates, item(fakeHash('missing'), 'm1', v)]))).toBe('E_INPUT');
      expect(await store.changeCounter()).toBe(before);
      expect((await store.referenceArtifacts(p.id)).length).toBe(1);
      expect((await store.listPerformers()).map((x) => x.name)).toEqual(['Cap']);
      expect(Number((await backend.raw<{ n: number }>(loc, 'SELECT count(*) AS n FROM artifacts'))[0]!.n)).toBe(1);
      await store.close();
    });

    test('artefacts: verifyWriteKey covers them, export lists them (bytes on request), rekey re-encrypts them', async () => {
      // A store whose only encrypted rows are artefacts still refuses a wrong or missing key.
      const store = await open({ key: KEY_A });
      const p = await store.upsertPerformer({ name: 'Only', consent: CONSENT });
      const ref = { sha256: fakeHash('only'), modality: 'voice' as const, quality: null, artifacts: artefacts('only') };
      await store.addEnrollment(p.id, [ref], []);
      await store.verifyWriteKey();
      await store.close();
      const wrong = await open({ key: KEY_B });
      expect(await code(wrong.verifyWriteKey())).toBe('E_CRYPTO');
      expect(await code(wrong.addEnrollment(p.id, [{ sha256: fakeHash('x'), modality: 'face', quality: null }], []))).toBe('E_CRYPTO');
      await wrong.close();
      const none = await open({ key: null });
      expect(await code(none.verifyWriteKey())).toBe('E_CRYPTO');
      await none.close();

      const s = await open({ key: KEY_A });
      const e = await s.exportPerformer(p.id);
      expect(e.artifacts.map((x) => [x.kind, x.modality, x.bytes, x.encrypted, x.keyId])).toEqual([
        ['thumbnail', 'voice', ref.artifacts[0]!.data.length, true, keyIdOf(KEY_A)],
        ['fingerprint', 'voice', ref.artifacts[1]!.data.length, true, keyIdOf(KEY_A)],
      ]);
      expect(e.artifacts.every((x) => x.data === undefined && x.referenceHash === ref.sha256)).toBe(true);
      const full = await s.exportPerformer(p.id, { includeVectors: true });
      expect(full.artifacts.map((x) => Buffer.from(x.data!, 'base64').toString('hex'))).toEqual(ref.artifacts.map((x) => Buffer.from(x.data).toString('hex')));

      // Rotation: artefacts move to the new key with the templates, and read back the same.
      const t = withArtefacts('Rot', 3, 80);
      await s.createWithEnrollment({ name: 'Rot', consent: null }, t.refs, t.templates);
      const report = await s.rekey(staticKeyProvider(KEY_B), { batchSize: 2 });
      expect(report).toMatchObject({ reencrypted: 3, artifactsReencrypted: 8, batches: 2 + 4, keyId: keyIdOf(KEY_B) });
      expect((await s.info()).artifactKeys).toEqual([{ keyId: keyIdOf(KEY_B), count: 8 }]);
      expect((await s.auditLog({ type: 'rekey' }))[0]!.details).toMatchObject({ templates: 3, artifacts: 8 });
      await s.close();
      const withB = await open({ key: KEY_B });
      expect((await withB.referenceArtifacts(p.id)).map((x) => Buffer.from(x.data).toString('hex'))).toEqual(ref.artifacts.map((x) => Buffer.from(x.data).toString('hex')));
      await withB.verifyWriteKey();
      await withB.close();
      const withA = await open({ key: KEY_A });
      expect(await code(withA.referenceArtifacts(p.id))).toBe('E_CRYPTO');
      await withA.close();
    });

    test('artefacts: hard delete and consent withdrawal with delete remove them; withdrawal alone keeps them like templates', async () => {
      const store = await open({ key: KEY_A });
      const registry = new Registry(store);
      const mk = async (name: string, seed: number) => {
        const x = withArtefacts(name, 2, seed);
        return (await store.createWithEnrollment({ name, consent: CONSENT }, x.refs, x.templates)).performer;
      };
      const [gone, withdrawn, kept, keptToo] = [await mk('Gone', 90), await mk('Withdrawn', 91), await mk('Kept', 92), await mk('Paused', 93)];
      const c0 = await store.changeCounter();
      expect(await store.deletePerformer(gone.id)).toBe(true);
      expect(await store.changeCounter()).toBeGreaterThan(c0);
      expect((await store.auditLog({ performerId: gone.id, type: 'delete' }))[0]!.details).toEqual({ refs: 2, templates: 2, artifacts: 4 });
      expect(await registry.withdrawConsent(withdrawn.id, { delete: true })).toEqual({ withdrawn: true, deleted: true });
      expect(await registry.withdrawConsent(keptToo.id)).toEqual({ withdrawn: true, deleted: false });
      for (const id of [gone.id, withdrawn.id]) {
        expect(await store.referenceArtifacts(id)).toEqual([]);
        expect(Number((await backend.raw<{ n: number }>(loc, 'SELECT count(*) AS n FROM artifacts WHERE performer_id = ?', [id]))[0]!.n)).toBe(0);
      }
      // Withdrawal without delete suppresses the performer and keeps what is stored (templates and artefacts alike).
      expect((await store.referenceArtifacts(keptToo.id)).length).toBe(4);
      expect((await store.referenceArtifacts(kept.id)).length).toBe(4);
      const left: string[] = [];
      for await (const x of store.artifacts('thumbnail')) left.push(x.performerId);
      expect(left).toEqual([kept.id, kept.id, keptToo.id, keptToo.id]);
      await store.close();
    });

    test('a store of the previous schema (3) opens, gains the empty artefact table, and keeps its data', async () => {
      if (backend.name === 'sqlite') {
        const db = new Database(loc);
        migrate(db, 3);
        db.close();
      } else {
        const c = new Client({ connectionString: loc });
        await c.connect();
        await pgMigrate(c as unknown as Parameters<typeof pgMigrate>[0], 3);
        await c.end();
      }
      await backend.raw(loc, 'INSERT INTO performers (id, name, aliases, consent, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)', ['old-1', 'Older', '[]', null, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
      expect(Number((await backend.raw<{ n: number }>(loc, "SELECT count(*) AS n FROM meta WHERE key = 'change_counter'"))[0]!.n)).toBe(1);
      const old = await open({ key: KEY_A });
      expect((await old.info()).schemaVersion).toBe(4);
      expect((await old.info()).artifactKeys).toEqual([]);
      expect((await old.getPerformer('old-1'))!.name).toBe('Older');
      const { performer } = await seeded(old, 'Old', 1, 5);
      expect(await old.referenceArtifacts(performer.id)).toEqual([]);
      expect((await old.exportPerformer(performer.id)).artifacts).toEqual([]);
      await old.close();
    });

    (backend.name === 'postgres' ? test : test.skip)("hard delete leaves none of the performer's template or artefact bytes in the database files", async () => {
      const store = await open({ key: KEY_A });
      const keep = await seeded(store, 'Keep', 40, 61);
      const gone = await seeded(store, 'Gone', 40, 62);
      // Artefacts too: a few kB each (TOASTed, out of line), and small ones (in line).
      const art = (name: string, n: number) => Array.from({ length: 6 }, (_, i) => ({ sha256: fakeHash(`${name}-art${i}`), modality: 'face' as const, quality: null, artifacts: artefacts(`${name}-${i}`, i % 2 ? n : 64) }));
      await store.addEnrollment(keep.performer.id, art('Keep', 6000), []);
      await store.addEnrollment(gone.performer.id, art('Gone', 6000), []);
      const artWindows = (await backend.raw<{ data: Buffer }>(loc, 'SELECT data FROM artifacts WHERE performer_id = ?', [gone.performer.id])).map((r) =>
        r.data.subarray(0, 24).toString('latin1'),
      );
      expect(artWindows).toHaveLength(12);
      const windows = (await backend.raw<{ vector: Buffer }>(loc, 'SELECT vector FROM templates WHERE performer_id = ?', [gone.performer.id])).map((r) =>
        r.vector.subarray(0, 24).toString('latin1'),
      );
      expect(windows).toHaveLength(40);
      const kept = (await backend.raw<{ vector: Buffer }>(loc, 'SELECT vector FROM templates WHERE performer_id = ?', [keep.performer.id])).map((r) =>
        r.vector.subarray(0, 24).toString('latin1'),
      );
      const dbFiles = async (): Promise<string> => {
        await backend.raw(loc, 'CHECKPOINT');
        const oid = (await backend.raw<{ oid: number }>(loc, 'SELECT oid FROM pg_database WHERE datname = current_database()'))[0]!.oid;
        const base = path.join(backend.cluster!.dir, 'data', 'base', String(oid));
        return fs.readdirSync(base).map((f) => fs.readFileSync(path.join(base, f)).toString('latin1')).join('');
      };
      const before = await dbFiles();
      expect(windows.filter((w) => before.includes(w)).length).toBe(40); // the check can see them
      expect(artWindows.filter((w) => before.includes(w)).length).toBe(12);
      expect(await store.deletePerformer(gone.performer.id)).toBe(true);
      expect((await store.info()).scrubPending).toBe(false);
      const after = await dbFiles();
      expect(windows.filter((w) => after.includes(w))).toEqual([]);
      expect(artWindows.filter((w) => after.includes(w))).toEqual([]);
      expect((await store.referenceArtifacts(keep.performer.id)).length).toBe(12);
      expect(kept.filter((w) => after.includes(w)).length).toBe(40);
      expect(await store.performerTemplates(keep.performer.id)).toHaveLength(40);
      await store.close();
    });

    (backend.name === 'postgres' ? test : test.skip)('several processes opening a new database at once migrate it once (advisory lock)', async () => {
      const stores = await Promise.all(Array.from({ length: 6 }, () => open({ key: KEY_A })));
      for (const st of stores) expect((await st.info()).schemaVersion).toBe(4);
      await Promise.all(stores.map((st, i) => st.upsertPerformer({ name: `p${i}`, consent: null })));
      expect(await stores[0]!.listPerformers()).toHaveLength(6);
      expect(Number((await backend.raw<{ n: number }>(loc, "SELECT count(*) AS n FROM meta WHERE key = 'change_counter'"))[0]!.n)).toBe(1);
      await Promise.all(stores.map((st) => st.close()));
    });
  });
}
