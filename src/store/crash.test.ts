import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { centroidOf } from '../match/registry';
import { FACE_ITEMS, FACE_MODEL, VOICE_MODEL, VOICE_WINDOWS, crashArtefact } from '../../test/helpers/crash-child';
import { dot, fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import { chainKeyProviders, keyIdOf, staticKeyProvider } from './crypto';
import { openStore } from './open';
import { describeIf } from '../../test/helpers/requires';
import { storeBackends, type TestBackend } from '../../test/helpers/store-backends';
import type { Template } from './types';

// SIGKILL a child in the middle of a long enrollment run, many times, at random points, against one database file.
// After each kill the store must open; every enrollment the child reported as returned must be present and complete
// (all references, all templates, centroids that include them); any other enrollment wholly present or absent.

const KILLS = 20;
const ROOT = path.resolve(__dirname, '../..');
const CHILD = path.join(ROOT, 'test/helpers/crash-child.ts');
const REKEY_CHILD = path.join(ROOT, 'test/helpers/rekey-child.ts');
const REKEY_KILLS = 6;
const ROTATION_CHILD = path.join(ROOT, 'test/helpers/rotation-reader.ts');

interface Expectation {
  /** Batches whose enrollment returned, by batch id -> performer id. */
  batches: Map<string, string>;
  /** Performers whose delete returned. */
  deleted: Set<string>;
}

/** Batches that must be present: returned, and their performer not deleted afterwards. */
function mustExist(e: Expectation): string[] {
  return [...e.batches].filter(([, p]) => !e.deleted.has(p)).map(([b]) => b);
}

function runChildUntilKilled(script: string, args: string[], delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', script, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (timer === undefined && d.toString().includes('ready')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(stderr);
      else reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
    });
  });
}

async function checkStore(db: string, key: string, reported: Expectation): Promise<{ performers: number; batches: number }> {
  const store = await openStore({ location: db, key });
  try {
    const performers = await store.listPerformers();
    const seenBatches = new Set<string>();
    for (const p of performers) {
      const refs = await store.references(p.id);
      const templates = await store.performerTemplates(p.id);
      const artifacts = await store.referenceArtifacts(p.id);
      expect(reported.deleted.has(p.id)).toBe(false); // a returned delete is never undone
      // A performer is created with its first enrollment: never one with nothing enrolled.
      expect(refs.length).toBeGreaterThan(0);
      expect(templates.length).toBeGreaterThan(0);
      const byBatch = new Map<string, number[]>();
      const hashes = new Set(refs.map((x) => x.sha256));
      for (const t of templates) if (t.kind === 'item') expect(hashes.has(t.referenceHash!)).toBe(true);
      for (const ref of refs) {
        const q = ref.quality as { batch: string; item: number; items: number };
        byBatch.set(q.batch, [...(byBatch.get(q.batch) ?? []), q.item]);
        const items = templates.filter((t) => t.kind === 'item' && t.referenceHash === ref.sha256);
        if (ref.modality === 'face') expect(items.map((t) => t.modelId)).toEqual([FACE_MODEL]);
        else expect(items.map((t) => t.modelId)).toEqual(Array(VOICE_WINDOWS).fill(VOICE_MODEL));
        // The reference's artefacts were written in the same transaction: all of them, byte for byte.
        const kinds = ref.modality === 'face' ? (['thumbnail', 'fingerprint'] as const) : (['fingerprint'] as const);
        const mine = artifacts.filter((a) => a.referenceHash === ref.sha256);
        expect(mine.map((a) => a.kind)).toEqual([...kinds]);
        for (const a of mine) expect(Buffer.from(a.data).equals(Buffer.from(crashArtefact(ref.sha256, a.kind)))).toBe(true);
      }
      for (const [batch, items] of byBatch) {
        expect(items.sort()).toEqual(Array.from({ length: FACE_ITEMS + 1 }, (_, i) => i)); // wholly present
        seenBatches.add(batch);
      }
      checkCentroid(templates, FACE_MODEL, 'face');
      checkCentroid(templates, VOICE_MODEL, 'voice');
    }
    const ids = new Set(performers.map((p) => p.id));
    for (const d of reported.deleted) {
      expect(ids.has(d)).toBe(false);
      expect(await store.references(d)).toEqual([]);
      expect(await store.performerTemplates(d)).toEqual([]);
      expect(await store.referenceArtifacts(d)).toEqual([]);
    }
    // A returned enrollment may be missing only when its whole performer is gone: a delete that committed but was
    // killed before it could report. At most one call is in flight per kill, so at most one such performer.
    const inFlightDeletes = new Set<string>();
    for (const b of mustExist(reported)) {
      if (seenBatches.has(b)) continue;
      const owner = reported.batches.get(b)!;
      expect(ids.has(owner)).toBe(false);
      inFlightDeletes.add(owner);
    }
    expect(inFlightDeletes.size).toBeLessThanOrEqual(1);
    for (const d of inFlightDeletes) reported.deleted.add(d);
    return { performers: performers.length, batches: seenBatches.size };
  } finally {
    await store.close();
  }
}

/** The centroid must exist exactly when items do, and be the centroid of all of them (written in the same commit). */
function checkCentroid(templates: Template[], modelId: string, modality: 'face' | 'voice'): void {
  const items = templates.filter((t) => t.modelId === modelId && t.kind === 'item');
  const centroids = templates.filter((t) => t.modelId === modelId && t.kind === 'centroid');
  expect(centroids.length).toBe(items.length > 0 ? 1 : 0);
  if (items.length > 0) expect(dot(centroids[0]!.vector, centroidOf(items, modality))).toBeGreaterThan(0.9999);
}

function crashSuite(backend: TestBackend): void {
  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());

  test(`enrollments survive ${KILLS} SIGKILLs at random points: returned ones complete, others all-or-nothing`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-crash-'));
    const db = await backend.fresh();
    const side = path.join(dir, 'returned.txt');
    const key = crypto.randomBytes(32).toString('hex');
    const r = rng(20261127);
    const reported: Expectation = { batches: new Map(), deleted: new Set() };
    const t0 = Date.now();
    const log: string[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        const delay = Math.round(10 + r() * 400);
        const started = Date.now();
        await runChildUntilKilled(CHILD, [db, side, key, String(k + 1)], delay);
        const lines = fs.existsSync(side) ? fs.readFileSync(side, 'utf8').split('\n').filter(Boolean) : [];
        for (const l of lines) {
          const [kind, performer, batch] = l.split(' ');
          if (kind === 'E') reported.batches.set(batch!, performer!);
          else reported.deleted.add(performer!);
        }
        const s = await checkStore(db, key, reported);
        const live = mustExist(reported).length;
        log.push(
          `kill ${k}: after ${delay} ms (${Date.now() - started} ms with start-up): returned ${reported.batches.size} ` +
            `enrollments, ${reported.deleted.size} deletes; stored ${s.batches} batches (${live} required)`,
        );
        // An enrollment killed after its commit but before its side-file line is stored yet unreported: allowed.
        expect(s.batches).toBeGreaterThanOrEqual(live);
      }
      expect(reported.batches.size).toBeGreaterThan(KILLS); // the kills landed in a busy enrollment loop
      expect(reported.deleted.size).toBeGreaterThan(0);
    } finally {
      // eslint-disable-next-line no-console
      console.log(`${log.join('\n')}\ntotal ${Date.now() - t0} ms`);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`a key rotation killed ${REKEY_KILLS} times mid-way leaves every template readable with the old or new key`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-rekey-'));
    const db = await backend.fresh();
    const [a, b] = [crypto.randomBytes(32), crypto.randomBytes(32)];
    const r = rng(7);
    const expected = new Map<string, number[]>();
    try {
      const store = await openStore({ location: db, key: a });
      for (let p = 0; p < 40; p++) {
        const perf = await store.upsertPerformer({ name: `p${p}`, consent: null });
        const refs = [0, 1, 2].map((i) => ({ sha256: fakeHash(`${p}:${i}`), modality: 'face' as const, quality: null }));
        const vs = refs.map(() => unitVector(r, 64));
        refs.forEach((ref, i) => expected.set(ref.sha256, Array.from(vs[i]!)));
        await store.addEnrollment(
          perf.id,
          refs,
          refs.map((ref, i) => ({ modelId: 'm', modality: 'face' as const, kind: 'item' as const, vector: vs[i]!, referenceHash: ref.sha256, quality: 1 })),
        );
      }
      await store.close();
      const both = chainKeyProviders(staticKeyProvider(a), staticKeyProvider(b));
      const keyIds = new Set<string | null>([keyIdOf(a), keyIdOf(b)]);
      let mixed = 0;
      for (let k = 0; k < REKEY_KILLS; k++) {
        await runChildUntilKilled(REKEY_CHILD, [db, a.toString('hex'), b.toString('hex')], Math.round(20 + r() * 300));
        const s = await openStore({ location: db, key: both });
        const info = await s.info();
        for (const t of info.templateKeys) expect(keyIds.has(t.keyId)).toBe(true);
        if (info.templateKeys.length > 1) mixed++;
        let n = 0;
        for await (const t of s.templates('m')) {
          expect(Array.from(t.vector)).toEqual(expected.get(t.referenceHash!));
          n++;
        }
        expect(n).toBe(120);
        await s.close();
      }
      // Most kills land mid-rotation (some rows under each key); the assertion above holds either way.
      expect(mixed).toBeGreaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a key rotation under 2 running workers (new key + LIKENESS_OLD_KEYS) gives them no E_CRYPTO', async () => {
    const db = await backend.fresh();
    const [a, b] = [crypto.randomBytes(32), crypto.randomBytes(32)];
    const r = rng(11);
    const store = await openStore({ location: db, key: a });
    for (let p = 0; p < 40; p++) {
      const perf = await store.upsertPerformer({ name: `p${p}`, consent: null });
      const refs = [0, 1, 2].map((i) => ({ sha256: fakeHash(`rot${p}:${i}`), modality: 'face' as const, quality: null }));
      await store.addEnrollment(
        perf.id,
        refs,
        refs.map((ref) => ({ modelId: 'm', modality: 'face' as const, kind: 'item' as const, vector: unitVector(r, 64), referenceHash: ref.sha256, quality: 1 })),
      );
    }
    const env = { ...process.env, LIKENESS_KEY: b.toString('hex'), LIKENESS_OLD_KEYS: a.toString('hex') };
    const children = [0, 1].map(() =>
      spawn(process.execPath, ['-r', '@swc-node/register', ROTATION_CHILD, db], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    const outputs = children.map((c) => {
      const o = { out: '', err: '', code: null as number | null, ready: false };
      c.stdout!.on('data', (d: Buffer) => (o.out += d.toString()));
      c.stderr!.on('data', (d: Buffer) => (o.err += d.toString()));
      return o;
    });
    const exits = children.map((c, i) => new Promise<void>((res) => c.on('exit', (code) => ((outputs[i]!.code = code), res()))));
    try {
      while (!outputs.every((o) => o.out.includes('ready') || o.code !== null)) await new Promise((res) => setTimeout(res, 50));
      const report = await store.rekey(staticKeyProvider(b), { batchSize: 4 });
      expect(report.reencrypted).toBeGreaterThanOrEqual(120);
      // Let the workers read the fully rotated store too.
      await new Promise((res) => setTimeout(res, 500));
    } finally {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      await Promise.all(exits);
      await store.close();
    }
    for (const o of outputs) {
      expect(o.err).not.toContain('E_CRYPTO');
      expect(o.code).toBe(0);
      const m = /reads (\d+) enrolls (\d+)/.exec(o.out);
      expect(Number(m![1])).toBeGreaterThan(0);
    }
    const after = await openStore({ location: db, key: b });
    const keys = (await after.info()).templateKeys;
    await after.close();
    expect(keys.every((k) => k.keyId === keyIdOf(b))).toBe(true);
  });
}

for (const backend of storeBackends()) {
  describeIf(backend.available, 'PostgreSQL 15 binaries (apt-get install postgresql-15)')(`${backend.name} store under SIGKILL`, () => crashSuite(backend));
}
