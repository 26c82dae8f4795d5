import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadManifest } from '../models/manifest';
import { modelCommands } from './commands-models';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-mcli-'));
const old = process.env.LIKENESS_HOME;
beforeAll(() => (process.env.LIKENESS_HOME = home));
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (old === undefined) delete process.env.LIKENESS_HOME;
  else process.env.LIKENESS_HOME = old;
});

function io() {
  const o = { out: '', err: '' };
  return { o, io: { out: (s: string) => (o.out += s), err: (s: string) => (o.err += s), isTTY: false, status: () => undefined } };
}

test('models list prints every manifest model with a state', async () => {
  const { o, io: c } = io();
  expect(await modelCommands['models list']!([], c)).toBe(0);
  const { models } = JSON.parse(o.out) as { models: { id: string; state: string; fix?: string }[] };
  expect(models.map((m) => m.id)).toEqual(loadManifest().models.map((m) => m.id));
  for (const m of models) {
    expect(['builtin', 'verified', 'present', 'missing', 'mismatch']).toContain(m.state);
    if (m.state === 'missing') expect(m.fix).toBeTruthy();
  }
});

test('models pull / add refuse bad arguments with E_INPUT or E_MODEL', async () => {
  const { io: c } = io();
  await expect(modelCommands['models pull']!([], c)).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(modelCommands['models pull']!(['no-such-model'], c)).rejects.toMatchObject({ code: 'E_MODEL' });
  const vendored = loadManifest().models.find((m) => m.source.kind !== 'download')!;
  await expect(modelCommands['models pull']!([vendored.id], c)).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(modelCommands['models add']!(['file.onnx'], c)).rejects.toMatchObject({ code: 'E_INPUT' });
  await expect(modelCommands['models list']!(['--bogus'], c)).rejects.toMatchObject({ code: 'E_INPUT' });
});
