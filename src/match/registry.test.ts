import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LikenessError } from '../errors';
import { dot, fakeHash, nearVector, rng, unitVector } from '../../test/helpers/vectors';
import { staticKeyProvider } from '../store/crypto';
import { openSqliteStore, SqliteStore } from '../store/sqlite';
import { fitCalibration } from './calibration';
import type { Calibration } from './calibration';
import { Cohort } from './decide';
import { Registry, centroidOf } from './registry';
import type { EnrollItem } from './registry';

const DIM = 128;
const MODEL = 'face-syn';
const CONSENT = { grantedBy: 'performer', grantedAt: '2026-01-01T00:00:00Z', scope: 'monitoring' };

/** A synthetic identity: samples have cosine ~rho with the identity's base, so two samples ~rho^2. */
function sample(r: () => number, base: Float32Array): Float32Array {
  return nearVector(r, base, 0.7 + 0.15 * r());
}

function syntheticCalibration(seed: number): Calibration {
  const r = rng(seed);
  const bases = Array.from({ length: 200 }, () => unitVector(r, DIM));
  const samples = bases.map((b) => [sample(r, b), sample(r, b)]);
  const genuine = samples.map(([a, b]) => dot(a!, b!));
  const impostor: number[] = [];
  for (let i = 0; i < 200; i++) for (let j = i + 1; j < i + 20 && j < 200; j++) impostor.push(dot(samples[i]![0]!, samples[j]![1]!));
  return fitCalibration(genuine, impostor, { modelId: MODEL, source: 'synthetic identities' });
}

function item(label: string, v: Float32Array, quality = 0.9): EnrollItem {
  return { sha256: fakeHash(label), modality: 'face', quality: { score: quality }, templates: [{ modelId: MODEL, vector: v, quality }] };
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

let dir: string;
let store: SqliteStore;
const cal = syntheticCalibration(99);
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-reg-'));
  store = await openSqliteStore({ path: path.join(dir, 'r.db'), key: crypto.randomBytes(32) });
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('identify: enrolled probes find the right performer (not none), never-enrolled probes never get match', async () => {
  const registry = new Registry(store, { calibration: (id) => (id === MODEL ? cal : null) });
  const r = rng(1);
  const ids = 80;
  const bases = Array.from({ length: ids }, () => unitVector(r, DIM));
  const performerOf = new Map<number, string>();
  for (let i = 0; i < ids; i++) {
    if (i % 4 === 3) continue; // every fourth identity is never enrolled
    const p = await registry.createPerformer({ name: `id${i}`, consent: CONSENT });
    performerOf.set(i, p.id);
    await registry.enroll(p.id, [0, 1, 2].map((k) => item(`${i}:${k}`, sample(r, bases[i]!), 0.3 + 0.7 * r())));
  }
  let right = 0;
  let enrolledProbes = 0;
  let falseMatches = 0;
  let strangerProbes = 0;
  const probes = bases.flatMap((b, i) => [0, 1].map(() => ({ i, v: sample(r, b) })));
  const results = await registry.identify(MODEL, probes.map((p) => p.v), { topK: 3, auditContext: 'unit-test' });
  results.forEach((res, k) => {
    const { i } = probes[k]!;
    const top = res.candidates[0];
    if (performerOf.has(i)) {
      enrolledProbes++;
      if (top && top.performerId === performerOf.get(i) && top.decision !== 'none') right++;
    } else {
      strangerProbes++;
      if (res.candidates.some((c) => c.decision === 'match')) falseMatches++;
    }
    for (let j = 1; j < res.candidates.length; j++) expect(res.candidates[j - 1]!.score).toBeGreaterThanOrEqual(res.candidates[j]!.score);
  });
  expect(enrolledProbes).toBe(120);
  expect(right / enrolledProbes).toBeGreaterThanOrEqual(0.98);
  expect(falseMatches).toBe(0);
  const reported = await store.auditLog({ type: 'match.reported' });
  expect(reported.length).toBeGreaterThanOrEqual(right);
  for (const e of reported) {
    expect(Object.keys(e.details).sort()).toEqual(['confidence', 'context', 'decision', 'modelId', 'score']);
    expect(e.details.context).toBe('unit-test');
  }
});

test('consent is required, enforced at enroll and at match time; withdrawal suppresses and can delete', async () => {
  const registry = new Registry(store, { calibration: () => cal });
  expect(await code(registry.createPerformer({ name: 'x' }))).toBe('E_CONSENT');
  expect(await code(registry.createPerformer({ name: 'x', consent: { ...CONSENT, expiresAt: '2020-01-01T00:00:00Z' } }))).toBe(
    'E_CONSENT',
  );
  const r = rng(2);
  const base = unitVector(r, DIM);
  const a = await registry.createPerformer({ name: 'Ana', consent: CONSENT });
  const noc = await registry.createPerformer({ name: 'Nic', noConsent: true });
  expect(noc.consent).toBeNull();
  await registry.enroll(a.id, [item('a1', sample(r, base)), item('a2', sample(r, base))]);
  const probe = sample(r, base);
  const before = (await registry.identify(MODEL, [probe]))[0]!;
  expect(before.candidates[0]).toMatchObject({ performerId: a.id, name: 'Ana', decision: 'match' });

  expect(await registry.withdrawConsent(a.id)).toEqual({ withdrawn: true, deleted: false });
  const after = (await registry.identify(MODEL, [probe]))[0]!;
  expect(after.candidates.map((c) => c.performerId)).not.toContain(a.id);
  expect(after.suppressed[0]).toMatchObject({ performerId: a.id, reason: 'consent_withdrawn', decision: 'match' });
  const suppressedLog = await store.auditLog({ type: 'match.suppressed' });
  expect(suppressedLog).toHaveLength(1);
  expect(suppressedLog[0]!.details.reason).toBe('consent_withdrawn');
  expect((await registry.verify(a.id, MODEL, probe)).candidates).toEqual([]);
  expect(await code(registry.enroll(a.id, [item('a3', sample(r, base))]))).toBe('E_CONSENT');
  expect((await store.auditLog({ performerId: a.id, type: 'consent.change' }))[0]!.details.reason).toBe('withdrawn');

  expect(await code(registry.withdrawConsent(noc.id))).toBe('E_CONSENT');
  expect(await registry.withdrawConsent(a.id, { delete: true })).toEqual({ withdrawn: false, deleted: true });
  expect((await registry.identify(MODEL, [probe]))[0]).toEqual({ candidates: [], suppressed: [] });
  expect(await code(registry.getPerformer(a.id))).toBe('E_NOT_FOUND');
  // Nothing biometric anywhere in the audit log: every detail is a scalar, never a vector.
  for (const e of await store.auditLog()) {
    for (const v of Object.values(e.details)) expect(['string', 'number', 'boolean', 'object']).toContain(typeof v);
    for (const v of Object.values(e.details)) if (typeof v === 'object') expect(v).toBeNull();
  }
});

test('enroll: quality-weighted face centroid, plain voice mean, dedup by hash, dimension checks', async () => {
  const registry = new Registry(store, { calibration: () => cal });
  const r = rng(3);
  const p = await registry.createPerformer({ name: 'Q', consent: CONSENT });
  const base = unitVector(r, DIM);
  const v1 = sample(r, base);
  const v2 = sample(r, base);
  const first = await registry.enroll(p.id, [item('q1', v1, 0.9), item('q2', v2, 0.1)]);
  expect(first).toMatchObject({ added: [fakeHash('q1'), fakeHash('q2')], duplicates: [], templatesWritten: 3 });
  const centroid = (await store.performerTemplates(p.id, MODEL)).find((t) => t.kind === 'centroid')!;
  const manual = new Float32Array(DIM).map((_, i) => 0.9 * v1[i]! + 0.1 * v2[i]!);
  expect(dot(centroid.vector, manual) / Math.sqrt(dot(manual, manual))).toBeCloseTo(1, 5);
  // Same media again plus one new item: the duplicate is recognised and the centroid covers three items, not four.
  const v3 = sample(r, base);
  const second = await registry.enroll(p.id, [item('q1', v1, 0.9), item('q3', v3, 0.5)]);
  expect(second).toMatchObject({ added: [fakeHash('q3')], duplicates: [fakeHash('q1')], templatesWritten: 2 });
  const all = await store.performerTemplates(p.id, MODEL);
  expect(all.filter((t) => t.kind === 'item')).toHaveLength(3);
  const c2 = all.find((t) => t.kind === 'centroid')!;
  expect(dot(c2.vector, centroidOf(all.filter((t) => t.kind === 'item'), 'face'))).toBeCloseTo(1, 6);

  const voice: EnrollItem = {
    sha256: fakeHash('voice'),
    modality: 'voice',
    quality: { netSpeech: 4.2 },
    templates: [0.2, 1].map((q) => ({ modelId: 'voice-syn', vector: unitVector(r, 16), quality: q })),
  };
  await registry.enroll(p.id, [voice]);
  const vt = await store.performerTemplates(p.id, 'voice-syn');
  const plainMean = centroidOf(vt.filter((t) => t.kind === 'item').map((t) => ({ ...t, quality: 1 })), 'voice');
  expect(dot(vt.find((t) => t.kind === 'centroid')!.vector, plainMean)).toBeCloseTo(1, 6);

  expect(await code(registry.enroll(p.id, [item('bad', unitVector(r, 64))]))).toBe('E_INPUT');
  expect(await code(registry.enroll(p.id, [{ ...item('empty', v1), templates: [] }]))).toBe('E_INPUT');
  expect(await code(registry.enroll(p.id, []))).toBe('E_INPUT');
  expect(await code(registry.enroll('nobody', [item('n', v1)]))).toBe('E_NOT_FOUND');
});

test('verify, missing calibration, export and rekey through the registry', async () => {
  const r = rng(4);
  const bare = new Registry(store);
  const p = await bare.createPerformer({ name: 'V', consent: CONSENT });
  const base = unitVector(r, DIM);
  await bare.enroll(p.id, [item('v1', sample(r, base)), item('v2', sample(r, base))]);
  expect(await code(bare.identify(MODEL, [sample(r, base)]))).toBe('E_MODEL');

  const registry = new Registry(store, { calibration: (id) => ({ ...cal, modelId: id }) });
  const genuine = await registry.verify(p.id, MODEL, sample(r, base));
  expect(genuine.candidates[0]).toMatchObject({ performerId: p.id, decision: 'match' });
  const stranger = await registry.verify(p.id, MODEL, unitVector(r, DIM));
  expect(stranger.candidates[0]!.decision).toBe('none');
  expect(stranger.candidates[0]!.confidence).toBeLessThan(0.5);
  expect(await code(registry.verify(p.id, 'other-model', unitVector(r, DIM)))).toBe('E_NOT_FOUND');
  expect(await code(new Registry(store, { calibration: () => cal }).verify(p.id, 'other-model', base))).toBe('E_MODEL');

  const exp = await registry.export(p.id);
  expect(exp.templates.map((t) => t.kind).sort()).toEqual(['centroid', 'item', 'item']);
  const report = await registry.rekey(staticKeyProvider(crypto.randomBytes(32)));
  expect(report.reencrypted).toBe(3);
  expect((await registry.verify(p.id, MODEL, sample(r, base))).candidates[0]!.decision).toBe('match');
});

test('AS-norm: a calibration fitted on normalised scores needs a cohort; with one, identify uses it', async () => {
  const r = rng(5);
  const dim = 32;
  const cohort = new Cohort(Array.from({ length: 100 }, () => unitVector(r, dim)), dim);
  const asCal: Calibration = { ...cal, modelId: 'voice-syn', scoreNorm: 'asnorm' };
  const p = await new Registry(store).createPerformer({ name: 'S', consent: CONSENT });
  const base = unitVector(r, dim);
  const voice = (label: string): EnrollItem => ({
    sha256: fakeHash(label),
    modality: 'voice',
    quality: null,
    templates: [{ modelId: 'voice-syn', vector: nearVector(r, base, 0.8), quality: 1 }],
  });
  await new Registry(store).enroll(p.id, [voice('s1'), voice('s2')]);
  const probe = nearVector(r, base, 0.8);
  expect(await code(new Registry(store, { calibration: () => asCal }).identify('voice-syn', [probe]))).toBe('E_MODEL');
  const withCohort = new Registry(store, { calibration: () => asCal, cohort: () => cohort });
  const [res] = await withCohort.identify('voice-syn', [probe]);
  const raw = dot(probe, (await store.performerTemplates(p.id, 'voice-syn')).find((t) => t.kind === 'centroid')!.vector);
  // The reported score is the AS-normed one (z-units, well above any raw cosine), not the raw cosine.
  expect(res!.candidates[0]!.performerId).toBe(p.id);
  expect(res!.candidates[0]!.score).toBeGreaterThan(2);
  expect(res!.candidates[0]!.score).not.toBeCloseTo(raw, 3);
});

test('a new performer and its first enrollment are one transaction: a failing write leaves no performer behind', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-reg-new-'));
  try {
    const store = await openSqliteStore({ path: path.join(dir, 'r.db'), key: crypto.randomBytes(32) });
    const registry = new Registry(store);
    const r = rng(99);
    const first = await registry.enrollNew({ name: 'First', consent: CONSENT }, [item('first-a', unitVector(r, DIM)), item('first-b', unitVector(r, DIM))]);
    expect(first.performer.name).toBe('First');
    expect(first.added).toHaveLength(2);
    expect(await store.performerTemplates(first.performerId)).toHaveLength(3); // two items and their centroid
    // The write fails inside the transaction (a template of media that is not among the references): rolled back whole.
    const broken = item('broken', unitVector(r, DIM));
    const stray = { modelId: MODEL, modality: 'face' as const, kind: 'item' as const, vector: unitVector(r, DIM), referenceHash: fakeHash('elsewhere'), quality: 0.5 };
    await expect(store.createWithEnrollment({ name: 'Half', consent: null }, [{ sha256: broken.sha256, modality: 'face', quality: 1 }], [stray])).rejects.toMatchObject({ code: 'E_INPUT' });
    // A failing registry-level enrollment (wrong dimension for a known model) creates nobody either.
    expect(await code(registry.enrollNew({ name: 'Short', noConsent: true }, [item('short', unitVector(r, DIM / 2))]))).toBe('E_INPUT');
    expect(await code(registry.enrollNew({ name: 'NoConsent' }, [item('nc', unitVector(r, DIM))]))).toBe('E_CONSENT');
    expect((await store.listPerformers()).map((p) => p.name)).toEqual(['First']);
    await registry.close();
    // Without the key: refused before anything is created (the store's templates are encrypted).
    const keyless = new Registry(await openSqliteStore({ path: path.join(dir, 'r.db'), key: null }));
    expect(await code(keyless.enrollNew({ name: 'Keyless', noConsent: true }, [item('k', unitVector(r, DIM))]))).toBe('E_CRYPTO');
    expect((await keyless.listPerformers()).map((p) => p.name)).toEqual(['First']);
    await keyless.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
