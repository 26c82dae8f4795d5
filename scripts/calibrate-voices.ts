// Fits the shipped voice calibration (models/calibration/<model>.json) on ../shared/eval/voices/trials.csv.
// usage: node -r @swc-node/register scripts/calibrate-voices.ts [--model ID]
import * as fs from 'fs';
import * as path from 'path';
import { VoiceEmbedder } from '../src/voice/embed';
import { evalVoiceTrials } from '../src/eval/voice-eval';
import { fitCalibration } from '../src/match/calibration';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'voices');
  if (!fs.existsSync(root)) throw new Error('needs ../shared/eval/voices');
  const i = process.argv.indexOf('--model');
  const ve = await VoiceEmbedder.create(i > 0 ? { model: process.argv[i + 1]! } : {});
  const r = await evalVoiceTrials(ve, path.join(root, 'trials.csv'), root);
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (const s of r.scores) if (s.score > -1) (s.same ? genuine : impostor).push(s.score);
  const cal = fitCalibration(genuine, impostor, { modelId: ve.modelId, source: 'shared/eval/voices trials.csv' });
  const out = path.resolve(__dirname, '..', 'models', 'calibration', `${ve.modelId}.json`);
  fs.writeFileSync(out, JSON.stringify(cal, null, 2) + '\n');
  console.log(JSON.stringify({ out, genuine: genuine.length, impostor: impostor.length, method: cal.method, eer: r.eer }));
}

void main();
