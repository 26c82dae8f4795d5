import Database from 'better-sqlite3';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import { openSqliteStore, SqliteStore } from './sqlite';
import { storeWarnings } from './open';

// What must hold with a key set: no template's float bytes appear in the database or its WAL, and after a performer
// is deleted (the delete checkpoints the WAL itself), none of that performer's ciphertext remains in either file.

const WINDOW = 16;
const DIM = 128;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-enc-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Non-overlapping 16-byte windows of `b`: any copy of `b` in a file contains all of them. */
function windows(b: Buffer): string[] {
  const out: string[] = [];
  for (let o = 0; o + WINDOW <= b.length; o += WINDOW) out.push(b.toString('latin1', o, o + WINDOW));
  return out;
}

/** How many of `needles` occur anywhere (any byte offset) in the files. */
function occurrences(files: string[], needles: string[]): number {
  const set = new Set(needles);
  const found = new Set<string>();
  for (const f of files) {
    if (!fs.existsSync(f)) continue;
    const s = fs.readFileSync(f).toString('latin1');
    for (let i = 0; i + WINDOW <= s.length; i++) {
      const w = s.slice(i, i + WINDOW);
      if (set.has(w)) found.add(w);
    }
  }
  return found.size;
}

function floatBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** A fake JPEG thumbnail (magic, then random bytes) and a fingerprint of random bytes. */
function artefactBytes(): { thumbnail: Buffer; fingerprint: Buffer } {
  return { thumbnail: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), crypto.randomBytes(2000)]), fingerprint: crypto.randomBytes(300) };
}

async function fill(store: SqliteStore, performers: number, perPerformer: number) {
  const r = rng(42);
  const ids: string[] = [];
  const vectors: Float32Array[] = [];
  const artefacts: Buffer[] = [];
  for (let p = 0; p < performers; p++) {
    const perf = await store.upsertPerformer({ name: `P${p}`, consent: null });
    ids.push(perf.id);
    const refs = Array.from({ length: perPerformer }, (_, i) => {
      const a = artefactBytes();
      artefacts.push(a.thumbnail, a.fingerprint);
      return { sha256: fakeHash(`${p}:${i}`), modality: 'face' as const, quality: 0.9, artifacts: [{ kind: 'thumbnail' as const, data: a.thumbnail }, { kind: 'fingerprint' as const, data: a.fingerprint }] };
    });
    const vs = refs.map(() => unitVector(r, DIM));
    vectors.push(...vs);
    await store.addEnrollment(
      perf.id,
      refs,
      vs.map((v, i) => ({ modelId: 'm', modality: 'face' as const, kind: 'item' as const, vector: v, referenceHash: refs[i]!.sha256, quality: 0.9 })),
    );
  }
  return { ids, vectors, artefacts };
}

test('the scanner finds plaintext templates when no key is set (so the encrypted check below can fail)', async () => {
  const file = path.join(dir, 'plain.db');
  const store = await openSqliteStore({ path: file, key: null });
  const { vectors, artefacts } = await fill(store, 3, 3);
  const needles = vectors.flatMap((v) => windows(floatBytes(v)));
  expect(occurrences([file, `${file}-wal`], needles)).toBe(needles.length);
  const artNeedles = artefacts.flatMap(windows);
  expect(occurrences([file, `${file}-wal`], artNeedles)).toBe(artNeedles.length);
  await store.close();
});

test('with a key, no template or artefact bytes in db or WAL; a deleted performer leaves no ciphertext once the delete returns', async () => {
  const file = path.join(dir, 'enc.db');
  const files = [file, `${file}-wal`];
  const store = await openSqliteStore({ path: file, key: crypto.randomBytes(32) });
  const { ids, vectors, artefacts } = await fill(store, 12, 4);
  // A rekey rewrites every row in place: the old ciphertext must not survive it either.
  await store.rekey(() => ({ id: 'k2', key: crypto.randomBytes(32) }));
  expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0); // the scan below covers a live WAL
  const plainNeedles = [...vectors.flatMap((v) => windows(floatBytes(v))), ...artefacts.flatMap(windows)];
  expect(occurrences(files, plainNeedles)).toBe(0);
  // Not even the JPEG magic of a thumbnail at the start of a stored value.
  const check = new Database(file, { readonly: true });
  expect((check.prepare('SELECT data FROM artifacts').pluck().all() as Buffer[]).filter((d) => d[0] === 0xff && d[1] === 0xd8 && d[2] === 0xff)).toEqual([]);
  check.close();

  const victim = ids[5]!;
  const reader = new Database(file, { readonly: true });
  const sealed = [
    ...(reader.prepare('SELECT vector FROM templates WHERE performer_id = ?').pluck().all(victim) as Buffer[]),
    ...(reader.prepare('SELECT data FROM artifacts WHERE performer_id = ?').pluck().all(victim) as Buffer[]),
  ];
  reader.close();
  expect(sealed).toHaveLength(4 + 8);
  const cipherNeedles = sealed.flatMap(windows);
  expect(occurrences(files, cipherNeedles)).toBe(cipherNeedles.length); // present before the delete

  // The delete scrubs the WAL itself: no explicit checkpoint here.
  expect(await store.deletePerformer(victim)).toBe(true);
  expect((await store.info()).scrubPending).toBe(false);
  expect(fs.statSync(`${file}-wal`).size).toBe(0);
  expect(occurrences(files, cipherNeedles)).toBe(0);
  expect(occurrences(files, plainNeedles)).toBe(0);
  // The other performers are intact.
  let n = 0;
  for await (const t of store.templates('m')) n += t.performerId === victim ? 100 : 1;
  expect(n).toBe(44);
  await store.close();
});

test('a reader that holds the WAL delays the scrub, not the delete: success, scrubPending, then scrubbed on release', async () => {
  const file = path.join(dir, 'busy.db');
  const store = await openSqliteStore({ path: file, key: crypto.randomBytes(32) });
  const { ids } = await fill(store, 3, 2);
  const reader = new Database(file, { readonly: true });
  reader.prepare('BEGIN').run();
  reader.prepare('SELECT count(*) FROM templates').pluck().get(); // holds a read snapshot on the WAL
  expect(await store.deletePerformer(ids[0]!)).toBe(true); // committed, so it reports success
  expect((await store.info()).scrubPending).toBe(true);
  // `likeness doctor` says so (its store warnings are these).
  expect(storeWarnings(await store.info())).toContainEqual(expect.stringContaining('still in the write-ahead log'));
  expect(await store.getPerformer(ids[0]!)).toBeNull();
  reader.prepare('COMMIT').run();
  reader.close();
  // The next open retries the scrub (so does the next delete or checkpoint()).
  await store.close();
  const again = await openSqliteStore({ path: file, key: null });
  expect((await again.info()).scrubPending).toBe(false);
  expect(storeWarnings(await again.info()).join('\n')).not.toMatch(/write-ahead log/);
  expect(fs.statSync(`${file}-wal`).size).toBe(0);
  await again.close();
});

test('a wrong key never writes: enrolling under it is E_CRYPTO naming the store key, nothing is added, the right key still reads all', async () => {
  const file = path.join(dir, 'wrong.db');
  const right = crypto.randomBytes(32);
  const wrong = crypto.randomBytes(32);
  const store = await openSqliteStore({ path: file, key: right });
  await fill(store, 2, 2);
  const rightId = (await store.info()).keyId!;
  await store.close();

  const bad = await openSqliteStore({ path: file, key: wrong });
  const newcomer = await bad.upsertPerformer({ name: 'Newcomer', consent: null });
  const ref = { sha256: fakeHash('newcomer'), modality: 'face' as const, quality: 0.9 };
  const tpl = { modelId: 'm', modality: 'face' as const, kind: 'item' as const, vector: unitVector(rng(7), DIM), referenceHash: ref.sha256, quality: 0.9 };
  await expect(bad.verifyWriteKey()).rejects.toMatchObject({ code: 'E_CRYPTO', message: expect.stringContaining(rightId) });
  await expect(bad.addEnrollment(newcomer.id, [ref], [tpl])).rejects.toMatchObject({ code: 'E_CRYPTO', message: expect.stringMatching(/not this store's key.*Nothing was written/) });
  // A provider that claims the store's key id but holds other bytes is caught too (the key must open a template).
  await bad.close();
  const liar = await openSqliteStore({ path: file, key: () => ({ id: rightId, key: wrong }) });
  await expect(liar.addEnrollment(newcomer.id, [ref], [tpl])).rejects.toMatchObject({ code: 'E_CRYPTO' });
  await liar.close();
  // No key at all on an encrypted store: refused as before.
  const none = await openSqliteStore({ path: file, key: null });
  await expect(none.addEnrollment(newcomer.id, [ref], [tpl])).rejects.toMatchObject({ code: 'E_CRYPTO' });
  await none.close();

  const good = await openSqliteStore({ path: file, key: right });
  expect(await good.references(newcomer.id)).toEqual([]);
  let n = 0;
  for await (const t of good.templates('m')) n += t.vector.length === DIM ? 1 : 0;
  expect(n).toBe(4);
  // The right key writes; so does a new key during a rotation while the old one is still given.
  await expect(good.addEnrollment(newcomer.id, [ref], [tpl])).resolves.toMatchObject({ templatesWritten: 1 });
  await good.close();
  const rotating = await openSqliteStore({ path: file, key: wrong, oldKeys: [right] });
  const ref2 = { ...ref, sha256: fakeHash('newcomer-2') };
  await expect(rotating.addEnrollment(newcomer.id, [ref2], [{ ...tpl, referenceHash: ref2.sha256 }])).resolves.toMatchObject({ templatesWritten: 1 });
  await rotating.close();
});
