// Fits the shipped voice calibration (models/calibration/<model>.json) on ../shared/eval/voices/trials.csv, and
// checks it by cross-validation over speakers: speakers are the connected components of the same-speaker trials
// (files linked by a `same=1` trial are one speaker), split into 5 folds; each fold's calibration is fitted on the
// trials whose two files both lie outside the fold and read on the trials whose two files both lie inside it, at the
// thresholds of a one-performer search (`match`: 1e-3 per search, `possible`: 1e-2). The shipped file is the fit on
// every trial; the cross-validation only says how well such a fit carries over to speakers it has not seen.
// usage: node -r @swc-node/register scripts/calibrate-voices.ts [--model ID]
import * as fs from 'fs';
import * as path from 'path';
import { VoiceEmbedder } from '../src/voice/embed';
import { evalVoiceTrials } from '../src/eval/voice-eval';
import { readPairsCsv } from '../src/eval/csv';
import { fitCalibration, ratesAtThresholds } from '../src/match/calibration';

const FOLDS = 5;

/** Speaker groups: union-find over the files of same-speaker trials. */
function speakerGroups(trials: { fileA: string; fileB: string; same: boolean }[]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const t of trials) for (const f of [t.fileA, t.fileB]) if (!parent.has(f)) parent.set(f, f);
  for (const t of trials) if (t.same) parent.set(find(t.fileA), find(t.fileB));
  const out = new Map<string, string>();
  for (const f of parent.keys()) out.set(f, find(f));
  return out;
}

/** A stable fold number for a group name. */
function foldOf(group: string): number {
  let h = 2166136261;
  for (let i = 0; i < group.length; i++) h = Math.imul(h ^ group.charCodeAt(i), 16777619) >>> 0;
  return h % FOLDS;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'voices');
  if (!fs.existsSync(root)) throw new Error('needs ../shared/eval/voices');
  const i = process.argv.indexOf('--model');
  const ve = await VoiceEmbedder.create(i > 0 ? { model: process.argv[i + 1]! } : {});
  const list = path.join(root, 'trials.csv');
  const r = await evalVoiceTrials(ve, list, root);
  const trials = readPairsCsv(list);
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (const s of r.scores) if (s.score > -1) (s.same ? genuine : impostor).push(s.score);
  const cal = fitCalibration(genuine, impostor, { modelId: ve.modelId, source: 'shared/eval/voices trials.csv' });
  const out = path.resolve(__dirname, '..', 'models', 'calibration', `${ve.modelId}.json`);
  fs.writeFileSync(out, JSON.stringify(cal, null, 2) + '\n');

  const groups = speakerGroups(trials);
  const folds: unknown[] = [];
  const pooled = { match: { fa: 0, fr: 0 }, possible: { fa: 0, fr: 0 }, genuine: 0, impostor: 0 };
  for (let k = 0; k < FOLDS; k++) {
    const side = (t: { fileA: string; fileB: string }): 'in' | 'out' | 'mixed' => {
      const a = foldOf(groups.get(t.fileA)!) === k;
      const b = foldOf(groups.get(t.fileB)!) === k;
      return a && b ? 'in' : !a && !b ? 'out' : 'mixed';
    };
    const split = { in: { g: [] as number[], i: [] as number[] }, out: { g: [] as number[], i: [] as number[] } };
    trials.forEach((t, j) => {
      const s = side(t);
      if (s === 'mixed') return;
      // Failed trials (score -1) stay in: a miss on the genuine side, a correct reject on the impostor side.
      (t.same ? split[s].g : split[s].i).push(r.scores[j]!.score);
    });
    if (split.in.g.length === 0 || split.in.i.length === 0) continue;
    const fold = fitCalibration(split.out.g.filter((s) => s > -1), split.out.i.filter((s) => s > -1), { modelId: ve.modelId, source: `fold ${k}` });
    const rates = ratesAtThresholds(fold, split.in.g, split.in.i);
    folds.push({ fold: k, trainGenuine: split.out.g.length, trainImpostor: split.out.i.length, testGenuine: split.in.g.length, testImpostor: split.in.i.length, match: rates.match, possible: rates.possible });
    pooled.genuine += split.in.g.length;
    pooled.impostor += split.in.i.length;
    for (const d of ['match', 'possible'] as const) {
      pooled[d].fa += Math.round(rates[d].far * split.in.i.length);
      pooled[d].fr += Math.round(rates[d].frr * split.in.g.length);
    }
  }
  const crossValidation = {
    folds: FOLDS,
    speakers: new Set(groups.values()).size,
    heldOutGenuine: pooled.genuine,
    heldOutImpostor: pooled.impostor,
    match: { far: pooled.match.fa / pooled.impostor, frr: pooled.match.fr / pooled.genuine, falseAccepts: pooled.match.fa },
    possible: { far: pooled.possible.fa / pooled.impostor, frr: pooled.possible.fr / pooled.genuine, falseAccepts: pooled.possible.fa },
    perFold: folds,
  };
  console.log(JSON.stringify({ out, genuine: genuine.length, impostor: impostor.length, method: cal.method, eer: r.eer, atThresholds: ratesAtThresholds(cal, genuine, impostor), crossValidation }));
}

void main();
