import { degeneracy, normaliseInPlace, type JunkSet } from '../../src/kernels/vector';
import { Registry } from '../../src/match/registry';
import { openStore } from '../../src/store/open';
import type { NewTemplate, Store } from '../../src/store/types';
import { fitCalibration } from '../../src/match/calibration';
import { describeIf } from '../helpers/requires';
import { storeBackends } from '../helpers/store-backends';
import { fakeHash, nearVector, rng, unitVector } from '../helpers/vectors';

// A degenerate template (non-finite, zero, constant, or what the model makes of junk) is never stored: the registry
// refuses it before the store, and both store backends refuse the first three themselves. A degenerate query is
// never searched, so it never matches, even against a gallery poisoned before these checks existed.

const DIM = 64;
const r = rng(17);
const junk: JunkSet = { modelId: 'm1', prototypes: [unitVector(r, DIM), unitVector(r, DIM)], maxCosine: 0.75 };
const constant = new Float32Array(DIM).fill(1 / Math.sqrt(DIM));
const withNaN = Float32Array.from(unitVector(r, DIM), (x, i) => (i === 3 ? NaN : x));
const withInf = Float32Array.from(unitVector(r, DIM), (x, i) => (i === 3 ? Infinity : x));
const tiny = new Float32Array(DIM).map((_, i) => (i % 2 ? 1e-9 : -1e-9));

test('degeneracy names each kind, and passes ordinary embeddings', () => {
  expect(degeneracy(withNaN)?.kind).toBe('non_finite');
  expect(degeneracy(withInf)?.kind).toBe('non_finite');
  expect(degeneracy(new Float32Array(DIM))?.kind).toBe('zero_norm');
  expect(degeneracy(tiny)?.kind).toBe('zero_norm');
  expect(degeneracy(constant)?.kind).toBe('constant');
  expect(degeneracy(junk.prototypes[1]!, junk)).toMatchObject({ kind: 'junk', cosine: expect.closeTo(1, 5) });
  expect(degeneracy(nearVector(r, junk.prototypes[0]!, 0.9), junk)?.kind).toBe('junk');
  for (let i = 0; i < 50; i++) expect(degeneracy(unitVector(r, DIM), junk)).toBeNull();
  // An output this small is left alone by normalisation, so the check still sees it.
  expect(degeneracy(normaliseInPlace(Float32Array.from(tiny)))?.kind).toBe('zero_norm');
});

const item = (sha: string, vector: Float32Array): NewTemplate => ({ modelId: 'm1', modality: 'voice', kind: 'item', vector, referenceHash: sha, quality: 1 });

for (const backend of storeBackends()) {
  describeIf(backend.available, 'PostgreSQL 15 binaries (apt-get install postgresql-15)')(`${backend.name}: the store refuses degenerate templates`, () => {
    let store: Store;
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    beforeEach(async () => {
      store = await openStore({ location: await backend.fresh(), key: null });
    });
    afterEach(() => store.close());

    test.each([
      ['NaN', withNaN, 'non_finite'],
      ['Inf', withInf, 'non_finite'],
      ['zero', new Float32Array(DIM), 'zero_norm'],
      ['near zero', tiny, 'zero_norm'],
      ['constant', constant, 'constant'],
    ])('%s vector: E_QUALITY degenerate_template, nothing written (addEnrollment and createWithEnrollment)', async (_what, v, kind) => {
      const p = await store.upsertPerformer({ name: 'P', consent: null });
      const ref = { sha256: fakeHash('a'), modality: 'voice' as const, quality: {} };
      await expect(store.addEnrollment(p.id, [ref], [item(ref.sha256, v)])).rejects.toMatchObject({ code: 'E_QUALITY', details: { reason: 'degenerate_template', kind } });
      await expect(store.createWithEnrollment({ name: 'Q', aliases: [], consent: null }, [ref], [item(ref.sha256, v)])).rejects.toMatchObject({ code: 'E_QUALITY' });
      expect(await store.performerTemplates(p.id)).toHaveLength(0);
      expect((await store.listPerformers()).map((x) => x.name)).toEqual(['P']);
    });
  });
}

describe('registry', () => {
  const genuine = Array.from({ length: 200 }, (_, i) => 0.6 + 0.3 * (i / 200));
  const impostor = Array.from({ length: 2000 }, (_, i) => -0.2 + 0.5 * (i / 2000));
  const cal = { ...fitCalibration(genuine, impostor, { modelId: 'm1', source: 'synthetic' }), modelId: 'm1' };
  let store: Store;
  let registry: Registry;
  beforeEach(async () => {
    store = await openStore({ location: ':memory:', key: null });
    registry = new Registry(store, { calibration: () => cal, junk: (m) => (m === 'm1' ? junk : null) });
  });
  afterEach(() => store.close());
  const voice = (label: string, vector: Float32Array) => ({ sha256: fakeHash(label), modality: 'voice' as const, quality: {}, templates: [{ modelId: 'm1', vector, quality: 1 }] });

  test('enrolling a junk, constant or NaN template is E_QUALITY and writes nothing (new and existing performers)', async () => {
    for (const v of [junk.prototypes[0]!, nearVector(r, junk.prototypes[1]!, 0.95), constant, withNaN, new Float32Array(DIM)]) {
      await expect(registry.enrollNew({ name: 'J', noConsent: true }, [voice('j', v)])).rejects.toMatchObject({ code: 'E_QUALITY', details: { reason: 'degenerate_template' } });
    }
    expect(await registry.listPerformers()).toHaveLength(0);
    const ok = await registry.enrollNew({ name: 'Real', noConsent: true }, [voice('real', unitVector(r, DIM))]);
    await expect(registry.enroll(ok.performerId, [voice('junk', junk.prototypes[0]!)])).rejects.toMatchObject({ code: 'E_QUALITY' });
    expect((await store.performerTemplates(ok.performerId)).filter((t) => t.kind === 'item')).toHaveLength(1);
  });

  test('a junk, NaN or zero query never matches, even a gallery poisoned with junk before these checks', async () => {
    const real = unitVector(r, DIM);
    const ok = await registry.enrollNew({ name: 'Real', noConsent: true }, [voice('real', real)]);
    // A poisoned performer written straight to the store (as an older version would have): its template is junk.
    const poisoned = await store.upsertPerformer({ name: 'Poison', consent: null });
    const ref = { sha256: fakeHash('p'), modality: 'voice' as const, quality: {} };
    await store.addEnrollment(poisoned.id, [ref], [item(ref.sha256, junk.prototypes[0]!)]);
    const res = await registry.identify('m1', [junk.prototypes[0]!, withNaN, new Float32Array(DIM), constant, real]);
    expect(res.slice(0, 4).map((x) => [x.degenerate, x.candidates.length])).toEqual([['junk', 0], ['non_finite', 0], ['zero_norm', 0], ['constant', 0]]);
    expect(res[4]!.degenerate).toBeUndefined();
    expect(res[4]!.candidates[0]).toMatchObject({ performerId: ok.performerId, decision: 'match' });
    // Without the junk set the same junk query finds the poisoned template at cosine 1: what the check prevents.
    const bare = await new Registry(store, { calibration: () => cal }).identify('m1', [junk.prototypes[0]!]);
    expect(bare[0]!.candidates[0]).toMatchObject({ performerId: poisoned.id, decision: 'match' });
    const v = await registry.verify(poisoned.id, 'm1', junk.prototypes[0]!);
    expect(v).toMatchObject({ candidates: [], degenerate: 'junk' });
  });
});
