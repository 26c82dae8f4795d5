// Two measurements of 1:N identification, one JSON object each on stdout (progress on stderr):
//
//   npm run bench:identify -- --json [--rows N]
//     The search step inside Guard.identify (Registry.identify -> the gallery search) over N (default 1,000,000)
//     synthetic 512-d templates written through the SQLite store (encrypted, 10 per performer) and loaded back by
//     the registry, one query per call, for both search modes: {f32: {msPerQuery, floorRatio}, int8: {msPerQuery,
//     floorRatio, recallAt10}}. floorRatio = time / (gallery bytes / memcpy bandwidth measured in this run);
//     recallAt10 = share of the exact float32 performer-level top-10 that the int8 path returns. About 8 GB of memory.
//
//   npm run bench:identify -- --protocol [--preset accurate|fast]
//     Issue 4's protocol on ../shared/eval/faces/identities.csv: enroll each identity from the first half of its images
//     (at least one; every fourth identity never enrolled), identify the rest. Calibration is fitted on the pair scores
//     of half the identities and graded on the other half, both folds. Skips when the data is absent.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer, FacePreset } from '../src/face/analyzer';
import { decodeImage } from '../src/media/image';
import { parseCsv } from '../src/eval/csv';
import { fitCalibration } from '../src/match/calibration';
import { Registry } from '../src/match/registry';
import { openSqliteStore } from '../src/store/sqlite';
import * as os from 'os';
import { randomBytes } from 'crypto';
import { searchPerformers, type Gallery, type SearchMode } from '../src/match/gallery';
import { topKGroups } from '../src/kernels/search';
import { nativeInfo } from '../src/kernels/addon';
import { bandwidths, makeGallery, round } from './measure';

export interface FoldReport {
  fold: number;
  enrolledIdentities: number;
  enrolledProbes: number;
  enrolledRight: number;
  enrolledRightRate: number;
  strangerProbes: number;
  strangerMatched: number;
  strangerNoMatchRate: number;
  noFace: number;
}

export async function runIdentifyProtocol(root: string, preset: FacePreset = 'accurate'): Promise<{ preset: string; folds: FoldReport[] }> {
  const rows = parseCsv(fs.readFileSync(path.join(root, 'identities.csv'), 'utf8')).slice(1).filter((r) => r.length >= 2 && r[0]);
  const byId = new Map<string, string[]>();
  for (const r of rows) byId.set(r[1]!, [...(byId.get(r[1]!) ?? []), r[0]!]);
  const ids = Array.from(byId.keys());
  const fa = await FaceAnalyzer.create({ preset });
  const emb = new Map<string, Float32Array | null>();
  for (const f of rows.map((r) => r[0]!)) {
    try {
      const faces = await fa.analyzeRgb(await decodeImage(path.join(root, f)));
      emb.set(f, faces[0]?.embedding ?? null);
    } catch {
      emb.set(f, null);
    }
  }
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const folds: FoldReport[] = [];
  for (const fold of [0, 1]) {
    const fitIds = ids.filter((_, i) => i % 2 !== fold);
    const gradeIds = ids.filter((_, i) => i % 2 === fold);
    // Calibration from all pairs among the fitting half's images.
    const fitFiles = fitIds.flatMap((id) => byId.get(id)!.map((f) => ({ f, id }))).filter((x) => emb.get(x.f));
    const genuine: number[] = [], impostor: number[] = [];
    for (let i = 0; i < fitFiles.length; i++) for (let j = i + 1; j < fitFiles.length; j++) {
      (fitFiles[i]!.id === fitFiles[j]!.id ? genuine : impostor).push(dot(emb.get(fitFiles[i]!.f)!, emb.get(fitFiles[j]!.f)!));
    }
    const cal = fitCalibration(genuine, impostor, { modelId: fa.modelId, source: `identities fold ${fold} fit half` });
    const store = await openSqliteStore({ path: ':memory:', key: null });
    const comparisons = (process.env.COMPARISONS ?? 'performers') as 'performers' | 'templates';
    const reg = new Registry(store, { calibration: () => cal, comparisons });
    const probes: { f: string; performerId: string | null }[] = [];
    let enrolledIdentities = 0;
    for (const [k, id] of gradeIds.entries()) {
      const files = byId.get(id)!;
      if (k % 4 === 3) {
        probes.push(...files.map((f) => ({ f, performerId: null })));
        continue;
      }
      const nEnroll = Math.max(1, Math.floor(files.length / 2));
      const enrollFiles = files.slice(0, nEnroll).filter((f) => emb.get(f));
      if (!enrollFiles.length) continue;
      const p = await reg.createPerformer({ name: id, noConsent: true });
      await reg.enroll(p.id, enrollFiles.map((f) => ({ sha256: createHash('sha256').update(f).digest('hex'), modality: 'face' as const, quality: null, templates: [{ modelId: fa.modelId, vector: emb.get(f)!, quality: 1 }] })));
      enrolledIdentities++;
      probes.push(...files.slice(nEnroll).map((f) => ({ f, performerId: p.id })));
    }
    let enrolledProbes = 0, enrolledRight = 0, strangerProbes = 0, strangerMatched = 0, noFace = 0;
    for (const pr of probes) {
      const e = emb.get(pr.f);
      if (pr.performerId) enrolledProbes++;
      else strangerProbes++;
      if (!e) {
        noFace++;
        continue;
      }
      const top = (await reg.identify(fa.modelId, [e], { topK: 1 }))[0]!.candidates[0];
      if (pr.performerId && top && top.performerId === pr.performerId && top.decision !== 'none') enrolledRight++;
      else if (pr.performerId && process.env.DEBUG_IDENTIFY) console.error('miss', pr.f, top?.performerId === pr.performerId, top?.score, top?.decision);
      if (!pr.performerId && top?.decision === 'match') strangerMatched++;
    }
    await store.close();
    folds.push({
      fold, enrolledIdentities, enrolledProbes, enrolledRight, enrolledRightRate: enrolledRight / Math.max(1, enrolledProbes),
      strangerProbes, strangerMatched, strangerNoMatchRate: 1 - strangerMatched / Math.max(1, strangerProbes), noFace,
    });
  }
  return { preset, folds };
}

const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** Median of the per-call times of `fn` over every query (one query per call), after one warm-up call. */
async function perQuery(queries: Float32Array[], fn: (q: Float32Array) => Promise<unknown>): Promise<number> {
  await fn(queries[0]!);
  const ms: number[] = [];
  for (const q of queries) {
    const t = performance.now();
    await fn(q);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

/** Share of the exact performer-level top-k (every row scored) that `got` returns, over all queries. */
function recallAt(g: Gallery, queries: Float32Array[], got: { performerId: string }[][], k: number): number {
  const packed = new Float32Array(queries.length * g.dim);
  queries.forEach((q, i) => packed.set(q, i * g.dim));
  const exact = topKGroups(g.vectors, g.dim, g.rowPerformer, g.performerIds.length, packed, k);
  let hit = 0;
  queries.forEach((_, q) => {
    const truth = new Set(Array.from(exact.indices.subarray(q * k, (q + 1) * k), (i) => g.performerIds[i]!));
    for (const c of got[q]!) if (truth.has(c.performerId)) hit++;
  });
  return hit / (queries.length * k);
}

/** Writes `rows` synthetic templates (10 per performer) through the store; returns the queries and the store file. */
async function fillStore(file: string, key: Buffer, rows: number, dim: number, nQueries: number): Promise<Float32Array[]> {
  const { g, q } = makeGallery(rows, dim, nQueries, 20261202);
  const store = await openSqliteStore({ path: file, key, synchronous: 'NORMAL' });
  const t0 = performance.now();
  for (let p = 0; p * 10 < rows; p++) {
    const perf = await store.upsertPerformer({ name: `synthetic ${p}`, consent: null });
    const n = Math.min(10, rows - p * 10);
    const refs = Array.from({ length: n }, (_, j) => ({ sha256: createHash('sha256').update(`${p}:${j}`).digest('hex'), modality: 'face' as const, quality: null }));
    await store.addEnrollment(
      perf.id,
      refs,
      refs.map((r, j) => ({ modelId: 'synthetic-512', modality: 'face' as const, kind: 'item' as const, vector: g.subarray((p * 10 + j) * dim, (p * 10 + j + 1) * dim), referenceHash: r.sha256, quality: 1 })),
    );
    if (p % 20000 === 0) log(`stored ${p * 10} / ${rows} templates (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await store.close();
  return Array.from({ length: nQueries }, (_, i) => q.slice(i * dim, (i + 1) * dim));
}

/** The search step of Guard.identify at scale, both modes, against the memcpy floor of this run. */
export async function runSearchBench(rows: number): Promise<Record<string, unknown>> {
  const dim = 512, k = 10;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-identify-'));
  const file = path.join(dir, 'bench.db');
  const key = randomBytes(32);
  try {
    const t0 = performance.now();
    const queries = await fillStore(file, key, rows, dim, 24);
    const storeS = (performance.now() - t0) / 1000;
    // Any calibration will do for timing: the search step does not depend on it.
    const cal = fitCalibration(Array.from({ length: 50 }, (_, i) => 0.6 + i / 200), Array.from({ length: 500 }, (_, i) => -0.2 + i / 1250), { modelId: 'synthetic-512', source: 'synthetic' });
    const bw = bandwidths();
    const out: Record<string, unknown> = { rows, dim, k, performers: Math.ceil(rows / 10), native: nativeInfo(), storeWriteSeconds: round(storeS, 1), memcpyGBps: round(bw.copy / 1e9, 2), queries: queries.length };
    for (const mode of ['f32', 'int8'] as const satisfies readonly SearchMode[]) {
      const store = await openSqliteStore({ path: file, key });
      const reg = new Registry(store, { calibration: () => cal, comparisons: 'performers', search: mode, auditMatches: false });
      let t = performance.now();
      const g = await reg.gallery('synthetic-512');
      const loadS = (performance.now() - t) / 1000;
      t = performance.now();
      await reg.identify('synthetic-512', [queries[0]!], { topK: k }); // builds the int8 copy on the first int8 search
      const firstMs = performance.now() - t;
      const searchMs = await perQuery(queries, (q) => searchPerformers(g, [q], k, mode));
      const identifyMs = await perQuery(queries, (q) => reg.identify('synthetic-512', [q], { topK: k }));
      const bytes = mode === 'f32' ? g.rows * dim * 4 : g.rows * (dim + 4);
      const floorMs = (bytes / bw.copy) * 1000;
      const r: Record<string, number> = {
        msPerQuery: round(searchMs, 2),
        floorRatio: round(searchMs / floorMs, 3),
        identifyMsPerQuery: round(identifyMs, 2),
        galleryLoadSeconds: round(loadS, 1),
        firstSearchMs: round(firstMs, 0),
      };
      if (mode === 'int8') {
        const got: { performerId: string }[][] = [];
        for (const q of queries) got.push((await searchPerformers(g, [q], k, 'int8'))[0]!);
        r['recallAt10'] = round(recallAt(g, queries, got, k), 4);
      }
      log(`${mode}: ${JSON.stringify(r)}`);
      out[mode] = r;
      await reg.close();
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const arg = (name: string): string | undefined => (argv.indexOf(name) >= 0 ? argv[argv.indexOf(name) + 1] : undefined);
  if (!argv.includes('--protocol')) {
    void runSearchBench(Number(arg('--rows') ?? 1_000_000)).then((r) => console.log(JSON.stringify(r, null, argv.includes('--json') ? undefined : 1)));
  } else {

  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  if (!fs.existsSync(path.join(root, 'identities.csv'))) console.log(JSON.stringify({ skipped: 'no ../shared/eval/faces' }));
  else {
    const i = process.argv.indexOf('--preset');
    void runIdentifyProtocol(root, (i > 0 ? process.argv[i + 1] : 'accurate') as FacePreset).then((r) => console.log(JSON.stringify(r, null, 1)));
  }
}
}
