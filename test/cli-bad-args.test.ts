import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeTmpDir } from './helpers/media';

const bin = path.join(__dirname, '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-cli-bad-');
const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home') };
const badHeader = path.join(tmp.dir, 'bad.csv');
fs.writeFileSync(badHeader, 'a,b,c\nx,y,1\n');
afterAll(() => tmp.cleanup());

function run(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, timeout: 300_000 });
}

test.each([
  [['eval', 'faces', '--root', tmp.dir], 'E_INPUT'],
  [['eval', 'faces', '--pairs', path.join(tmp.dir, 'missing.csv'), '--root', tmp.dir], 'E_NOT_FOUND'],
  [['eval', 'faces', '--pairs', badHeader, '--root', tmp.dir], 'E_INPUT'],
  [['eval', 'faces', '--pairs', badHeader, '--root', tmp.dir, '--preset', 'turbo'], 'E_INPUT'],
  [['eval', 'voices', '--trials', badHeader, '--root', tmp.dir], 'E_INPUT'],
  [['calibrate', 'faces', '--pairs', badHeader, '--root', tmp.dir], 'E_INPUT'],
  [['calibrate', 'voices', '--root', tmp.dir], 'E_INPUT'],
  [['faces'], 'E_INPUT'],
  [['faces', '--bogus', 'x.jpg'], 'E_INPUT'],
  [['identify', '--top', '0', 'x.jpg'], 'E_INPUT'],
  [['scan', 'x.jpg', '--db', path.join(tmp.dir, 'p.db'), '--jsonl-file'], 'E_INPUT'],
  [['scan', 'x.jpg', '--db', path.join(tmp.dir, 'p.db'), '--jsonl-file', tmp.dir], 'E_INPUT'],
  [['scan', 'x.jpg', '--db', path.join(tmp.dir, 'p.db'), '--jsonl-file', path.join(tmp.dir, 'same.out'), '--json', path.join(tmp.dir, 'same.out')], 'E_INPUT'],
  [['performers', 'frobnicate', '--db', path.join(tmp.dir, 'p.db')], 'E_INPUT'],
  [['performers', 'add-reference', '--db', path.join(tmp.dir, 'p.db')], 'E_INPUT'],
  [['performers', 'add-reference', 'some-id', '--db', path.join(tmp.dir, 'p.db')], 'E_INPUT'],
  [['performers', 'add-reference', 'some-id', 'x.jpg', '--bogus', '--db', path.join(tmp.dir, 'p.db')], 'E_INPUT'],
  [['performers', 'add-reference', 'no-such-performer', badHeader, '--db', path.join(tmp.dir, 'p.db')], 'E_NOT_FOUND'],
  // The queue commands need a PostgreSQL store; bad flags are refused before anything connects.
  [['submit', path.join(tmp.dir, 'bad.csv'), '--db', path.join(tmp.dir, 'p.db')], 'E_INPUT'],
  [['submit'], 'E_INPUT'],
  [['worker', '--concurrency', '0', '--db', 'postgres://127.0.0.1:1/x'], 'E_INPUT'],
  [['worker', '--db', path.join(tmp.dir, 'p.db')], 'E_INPUT'],
  [['jobs', '--status', 'lost', '--db', 'postgres://127.0.0.1:1/x'], 'E_INPUT'],
  [['results', '--since', 'yesterday', '--db', 'postgres://127.0.0.1:1/x'], 'E_INPUT'],
  [['results', '--db', 'postgres://127.0.0.1:1/x'], 'E_STORE'],
])('likeness %j -> exit 1 with %s', (args, code) => {
  const r = run(...(args as string[]));
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^likeness: ${code}: `, "m"));
});

test('an unknown command exits 1 with the usage', () => {
  const r = run('teleport');
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/unknown command/);
});
