// Per-degradation breakdown of `eval faces` on ../shared/eval/faces/pairs-degraded.csv (skips when absent).
// usage: node -r @swc-node/register benchmarks/face-degraded.ts [--preset accurate|fast]
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer, FacePreset } from '../src/face/analyzer';
import { evalFacePairs } from '../src/eval/face-eval';
import { parseCsv } from '../src/eval/csv';
import { verificationMetrics } from '../src/eval/metrics';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  const list = path.join(root, 'pairs-degraded.csv');
  if (!fs.existsSync(list)) {
    console.log(JSON.stringify({ skipped: 'no ../shared/eval/faces' }));
    return;
  }
  const i = process.argv.indexOf('--preset');
  const preset = (i > 0 ? process.argv[i + 1] : 'accurate') as FacePreset;
  const fa = await FaceAnalyzer.create({ preset });
  const r = await evalFacePairs(fa, list, root);
  const rows = parseCsv(fs.readFileSync(list, 'utf8')).slice(1).filter((x) => x.length > 4);
  const kinds = new Map<string, { g: number[]; im: number[] }>();
  rows.forEach((row, k) => {
    const kind = row[4]!;
    const e = kinds.get(kind) ?? { g: [], im: [] };
    (r.scores[k]!.same ? e.g : e.im).push(r.scores[k]!.score);
    kinds.set(kind, e);
  });
  const t3 = r.thresholdAtFar['1e-3']!;
  const t2 = r.thresholdAtFar['1e-2']!;
  const byKind: Record<string, unknown> = {};
  for (const [kind, { g, im }] of kinds) {
    const m = verificationMetrics(g, im);
    byKind[kind] = {
      tarAtGlobalFar1e3: g.filter((s) => s >= t3).length / g.length,
      tarAtGlobalFar1e2: g.filter((s) => s >= t2).length / g.length,
      auc: m.auc,
      failedGenuine: g.filter((s) => s <= -1).length,
    };
  }
  const { scores: _s, failures, ...summary } = r;
  console.log(JSON.stringify({ preset, ...summary, failures: failures.length, byKind }, null, 1));
}

void main();
