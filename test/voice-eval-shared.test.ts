import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { evalVoiceTrials } from '../src/eval/voice-eval';
import { VoiceEmbedder } from '../src/voice/embed';
import { testIf } from './helpers/requires';

// Uses ../shared/eval when it exists (internal evaluation data, never copied into the project); skips otherwise.
const ROOT = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'voices');
const present = fs.existsSync(path.join(ROOT, 'trials.csv'));

testIf(present, '../shared/eval')('baseline on the speechbrain part of trials.csv: no failures, speakers separated', async () => {
  // Only the trials between speechbrain's two ASR speakers (12 short clips): quick, and a regression guard.
  const lines = fs.readFileSync(path.join(ROOT, 'trials.csv'), 'utf8').split(/\r?\n/);
  const subset = [lines[0]!, ...lines.slice(1).filter((l) => /^speechbrain\/[^,]*,speechbrain\//.test(l))];
  expect(subset.length).toBeGreaterThan(20);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-shared-'));
  try {
    fs.writeFileSync(path.join(dir, 'subset.csv'), subset.join('\n'));
    const e = await VoiceEmbedder.create({ model: 'baseline-mfcc-stats' });
    const r = await evalVoiceTrials(e, path.join(dir, 'subset.csv'), ROOT);
    expect(r.failed).toBe(0);
    expect(r.trials).toBe(subset.length - 1);
    expect(r.eer).toBeLessThanOrEqual(0.2);
    expect(r.auc).toBeGreaterThan(0.85);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
