// Fits the shipped face calibration (models/calibration/<model>.json) on ../shared/eval/faces pairs-all + pairs-degraded.
// usage: node -r @swc-node/register scripts/calibrate-faces.ts [--preset accurate|fast]
import * as fs from 'fs';
import * as path from 'path';
import { FaceAnalyzer, FacePreset } from '../src/face/analyzer';
import { evalFacePairs } from '../src/eval/face-eval';
import { fitCalibration } from '../src/match/calibration';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  if (!fs.existsSync(root)) throw new Error('needs ../shared/eval/faces');
  const i = process.argv.indexOf('--preset');
  const preset = (i > 0 ? process.argv[i + 1] : 'accurate') as FacePreset;
  const fa = await FaceAnalyzer.create({ preset });
  const genuine: number[] = [];
  const impostor: number[] = [];
  const lists: Record<string, { pairs: number; failed: number; tarAtFar: Record<string, number>; auc: number }> = {};
  for (const list of ['pairs-all.csv', 'pairs-degraded.csv']) {
    const r = await evalFacePairs(fa, path.join(root, list), root);
    // The same figures `likeness eval faces` prints for the list, from the same pass.
    lists[list] = { pairs: r.pairs, failed: r.failed, tarAtFar: r.tarAtFar, auc: r.auc };
    // Failed pairs (no face) carry no score information for calibration.
    for (const s of r.scores) if (s.score > -1) (s.same ? genuine : impostor).push(s.score);
  }
  const cal = fitCalibration(genuine, impostor, { modelId: fa.modelId, source: `shared/eval/faces pairs-all + pairs-degraded, preset ${preset}` });
  const out = path.resolve(__dirname, '..', 'models', 'calibration', `${fa.modelId}.json`);
  fs.writeFileSync(out, JSON.stringify(cal, null, 2) + '\n');
  console.log(JSON.stringify({ out, model: fa.modelId, preset, genuine: genuine.length, impostor: impostor.length, method: cal.method, lists }));
}

void main();
