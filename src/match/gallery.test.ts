import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import { openSqliteStore } from '../store/sqlite';
import type { Template } from '../store/types';
import { buildGallery, GalleryCache, searchPerformers } from './gallery';
import { normalise } from '../kernels/vector';
import { topK, topKGroups } from '../kernels/search';

function matrix(r: () => number, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) out.set(unitVector(r, dim), i * dim);
  return out;
}

function bruteScores(g: Float32Array, dim: number, q: Float32Array, qi: number): number[] {
  const n = g.length / dim;
  return Array.from({ length: n }, (_, r) => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += g[r * dim + i]! * q[qi * dim + i]!;
    return s;
  });
}

describe('search kernels', () => {
  test('topK equals a brute-force sort for many queries', () => {
    const r = rng(1);
    const dim = 37; // not a multiple of 4: exercises the kernel's tail loop
    const g = matrix(r, 300, dim);
    const q = matrix(r, 7, dim);
    const res = topK(g, dim, q, 10);
    expect(res.k).toBe(10);
    for (let qi = 0; qi < 7; qi++) {
      const s = bruteScores(g, dim, q, qi);
      const order = s.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 10);
      expect(Array.from(res.indices.subarray(qi * 10, qi * 10 + 10))).toEqual(order.map((o) => o[1]));
      order.forEach(([v], j) => expect(res.scores[qi * 10 + j]).toBeCloseTo(v, 5));
    }
  });

  test('topK pads when k exceeds the gallery, keeps the lower index on ties, handles an empty gallery', () => {
    const g = new Float32Array([1, 0, 1, 0, 0, 1]);
    const q = new Float32Array([1, 0]);
    const res = topK(g, 2, q, 5);
    expect(res.k).toBe(3);
    expect(Array.from(res.indices)).toEqual([0, 1, 2]);
    expect(topK(new Float32Array(0), 2, q, 3).k).toBe(0);
  });

  test('topKGroups returns each group best score, best groups first', () => {
    const r = rng(2);
    const dim = 16;
    const g = matrix(r, 60, dim);
    const groupOf = Int32Array.from({ length: 60 }, (_, i) => i % 9);
    const q = matrix(r, 3, dim);
    const res = topKGroups(g, dim, groupOf, 9, q, 4);
    for (let qi = 0; qi < 3; qi++) {
      const s = bruteScores(g, dim, q, qi);
      const best = Array.from({ length: 9 }, (_, gi) => Math.max(...s.filter((_, i) => groupOf[i] === gi)));
      const order = best.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 4);
      expect(Array.from(res.indices.subarray(qi * 4, qi * 4 + 4))).toEqual(order.map((o) => o[1]));
    }
  });
});

describe('gallery', () => {
  test('buildGallery normalises rows and maps rows to performers; searchPerformers keeps best per performer', () => {
    const r = rng(3);
    const a = unitVector(r, 8);
    const b = unitVector(r, 8);
    const t = (performerId: string, v: Float32Array, kind: 'item' | 'centroid' = 'item'): Template => ({
      id: Math.random().toString(),
      performerId,
      modelId: 'm',
      modality: 'face',
      kind,
      vector: v,
      referenceHash: kind === 'item' ? fakeHash(performerId) : null,
      quality: 1,
      createdAt: '',
    });
    const scaled = a.map((x) => x * 3);
    const g = buildGallery('m', [t('A', scaled), t('B', b), t('A', normalise(b.map((x, i) => x + a[i]!)), 'centroid')]);
    expect(g.rows).toBe(3);
    expect(g.performerIds).toEqual(['A', 'B']);
    expect(Array.from(g.rowPerformer)).toEqual([0, 1, 0]);
    const [res] = searchPerformers(g, [a], 5);
    expect(res!.map((x) => x.performerId)).toEqual(['A', 'B']);
    expect(res![0]!.score).toBeCloseTo(1, 5); // the scaled row was normalised
    expect(() => searchPerformers(g, [new Float32Array(4)], 1)).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });

  test('GalleryCache rebuilds when the store changes (enroll, delete) and not otherwise', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-gal-'));
    const store = await openSqliteStore({ path: path.join(dir, 'db'), key: null });
    try {
      const cache = new GalleryCache(store);
      expect((await cache.get('m')).rows).toBe(0);
      const r = rng(4);
      const p = await store.upsertPerformer({ name: 'A', consent: null });
      const sha = fakeHash('a');
      await store.addEnrollment(p.id, [{ sha256: sha, modality: 'face', quality: null }], [
        { modelId: 'm', modality: 'face', kind: 'item', vector: unitVector(r, 8), referenceHash: sha, quality: 1 },
      ]);
      const g1 = await cache.get('m');
      expect(g1.rows).toBe(1);
      expect(await cache.get('m')).toBe(g1); // unchanged store: same object, no rebuild
      await store.deletePerformer(p.id);
      expect((await cache.get('m')).rows).toBe(0);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
