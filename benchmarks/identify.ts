// Issue 4 protocol on ../shared/eval/faces/identities.csv: enroll each identity from the first half of its images
// (at least one; every fourth identity never enrolled), identify the rest. Calibration is fitted on the pair scores of
// half the identities and graded on the other half, both folds. Prints one JSON object; skips when the data is absent.
// usage: node -r @swc-node/register benchmarks/identify.ts [--preset accurate|fast]
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer, FacePreset } from '../src/face/analyzer';
import { decodeImage } from '../src/media/image';
import { parseCsv } from '../src/eval/csv';
import { fitCalibration } from '../src/match/calibration';
import { Registry } from '../src/match/registry';
import { openSqliteStore } from '../src/store/sqlite';

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

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  if (!fs.existsSync(path.join(root, 'identities.csv'))) console.log(JSON.stringify({ skipped: 'no ../shared/eval/faces' }));
  else {
    const i = process.argv.indexOf('--preset');
    void runIdentifyProtocol(root, (i > 0 ? process.argv[i + 1] : 'accurate') as FacePreset).then((r) => console.log(JSON.stringify(r, null, 1)));
  }
}
