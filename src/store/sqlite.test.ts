import Database from 'better-sqlite3';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LikenessError } from '../errors';
import { fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import { keyIdOf, parseKey, staticKeyProvider } from './crypto';
import { migrate, SCHEMA_VERSION } from './migrations';
import { openSqliteStore, SqliteStore } from './sqlite';
import type { NewTemplate } from './types';

const CONSENT = { grantedBy: 'the performer', grantedAt: '2026-01-01T00:00:00Z', scope: 'monitoring' };
const KEY_A = crypto.randomBytes(32);
const KEY_B = crypto.randomBytes(32);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-store-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function dbPath(): string {
  return path.join(dir, 'registry.db');
}

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

async function seeded(store: SqliteStore, name: string, n: number, seed: number) {
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

describe('sqlite store', () => {
  test('migrations: an old database upgrades in place; a newer one is refused', async () => {
    const raw = new Database(dbPath());
    expect(migrate(raw, 1)).toBe(1);
    raw
      .prepare('INSERT INTO performers (id, name, aliases, consent, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run('old-1', 'Old', '[]', null, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z');
    raw.close();
    const store = await openSqliteStore({ path: dbPath(), key: null });
    expect((await store.info()).schemaVersion).toBe(SCHEMA_VERSION);
    expect((await store.getPerformer('old-1'))!.name).toBe('Old');
    await store.audit({ type: 'export', performerId: 'old-1' });
    await store.close();
    const raw2 = new Database(dbPath());
    raw2.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw2.close();
    expect(await code(openSqliteStore({ path: dbPath(), key: null }))).toBe('E_STORE');
  });

  test('a file that is not a database, or a corrupt one, gives E_STORE', async () => {
    const junk = path.join(dir, 'junk.db');
    fs.writeFileSync(junk, crypto.randomBytes(8192));
    expect(await code(openSqliteStore({ path: junk, key: null }))).toBe('E_STORE');

    const store = await openSqliteStore({ path: dbPath(), key: null });
    for (let i = 0; i < 4; i++) await seeded(store, `P${i}`, 8, 30 + i);
    await store.checkpoint();
    await store.close();
    // Keep the header and the first page (schema) intact, scramble the data pages.
    const bytes = fs.readFileSync(dbPath());
    const pageSize = bytes.readUInt16BE(16);
    crypto.randomFillSync(bytes, pageSize * 2);
    fs.writeFileSync(dbPath(), bytes);
    for (const verify of [false, true]) {
      expect(await firstFailure(dbPath(), verify)).toBe('E_STORE');
    }
  });
});

/** Opens and reads everything; returns the code of the first failure ('' when none). */
async function firstFailure(file: string, verify: boolean): Promise<string> {
  let failure = '';
  try {
    const broken = await openSqliteStore({ path: file, key: null, verify });
    await broken.listPerformers();
    for await (const t of broken.templates('m1')) void t;
    await broken.close();
  } catch (e) {
    failure = e instanceof LikenessError ? e.code : `not a LikenessError: ${String(e)}`;
  }
  return failure;
}
