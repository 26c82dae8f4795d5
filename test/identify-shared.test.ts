import * as fs from 'fs';
import * as path from 'path';
import { runIdentifyProtocol } from '../benchmarks/identify';
import { testIf } from './helpers/requires';

const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
const have = fs.existsSync(path.join(root, 'identities.csv'));

testIf(have, '../shared/eval')('identities protocol: enrolled probes right and not none >= 98%, strangers never match (both folds)', async () => {
  const r = await runIdentifyProtocol(root, 'accurate');
  for (const f of r.folds) {
    expect(f.enrolledProbes).toBeGreaterThan(10);
    expect(f.enrolledRightRate).toBeGreaterThanOrEqual(0.98);
    expect(f.strangerNoMatchRate).toBeGreaterThanOrEqual(0.99);
  }
});

