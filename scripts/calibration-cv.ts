// Cross-validated calibration over identities (src/eval/calibration-cv.ts) on ../shared/eval: the observed false-match
// rate at the `match` and `possible` thresholds on folds the calibration was not fitted on, against the nominal rates.
// usage: node -r @swc-node/register scripts/calibration-cv.ts voices [--model ID] [--folds 5]
//        node -r @swc-node/register scripts/calibration-cv.ts faces [--preset accurate|fast] [--folds 5]
import * as fs from 'fs';
import * as path from 'path';
import { crossValidateCalibration, type ScoredPair } from '../src/eval/calibration-cv';
import { readPairsCsv } from '../src/eval/csv';
import { evalFacePairs } from '../src/eval/face-eval';
import { evalVoiceTrials } from '../src/eval/voice-eval';
import { FaceAnalyzer, type FacePreset } from '../src/face/analyzer';
import { VoiceEmbedder } from '../src/voice/embed';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const modality = process.argv[2];
  const folds = Number(arg('--folds') ?? 5);
  const shared = path.resolve(__dirname, '..', '..', 'shared', 'eval');
  const pairs: ScoredPair[] = [];
  let modelId: string;
  let source: string;
  if (modality === 'voices') {
    const root = path.join(shared, 'voices');
    const list = path.join(root, 'trials.csv');
    if (!fs.existsSync(list)) throw new Error('needs ../shared/eval/voices/trials.csv');
    const e = await VoiceEmbedder.create(arg('--model') ? { model: arg('--model')! } : {});
    const r = await evalVoiceTrials(e, list, root);
    readPairsCsv(list).forEach((p, i) => {
      if (r.scores[i]!.score > -1) pairs.push({ ...p, score: r.scores[i]!.score });
    });
    modelId = e.modelId;
    source = 'shared/eval/voices trials.csv';
  } else if (modality === 'faces') {
    const root = path.join(shared, 'faces');
    const fa = await FaceAnalyzer.create({ preset: (arg('--preset') ?? 'accurate') as FacePreset });
    for (const name of ['pairs-all.csv', 'pairs-degraded.csv']) {
      const list = path.join(root, name);
      const r = await evalFacePairs(fa, list, root);
      readPairsCsv(list).forEach((p, i) => {
        if (r.scores[i]!.score > -1) pairs.push({ ...p, score: r.scores[i]!.score });
      });
    }
    modelId = fa.modelId;
    source = 'shared/eval/faces pairs-all + pairs-degraded';
  } else {
    throw new Error('usage: calibration-cv.ts voices|faces [--folds N]');
  }
  const cv = crossValidateCalibration(pairs, { modelId, source }, { folds });
  console.log(JSON.stringify({ modality, modelId, pairs: pairs.length, ...cv }, null, 2));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
