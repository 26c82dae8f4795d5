import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { escapeControls } from '../../src/cli/command';
import { makeTmpDir } from '../helpers/media';

// Names and file names come from users and uploads: whatever the CLI prints (JSON on stdout, summaries, notes and
// errors on stderr) carries their control and bidi characters as visible \uXXXX escapes, never as raw bytes.

const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-cli-esc-');
const db = path.join(tmp.dir, 'store.db');
const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home') };
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const EVIL_NAME = 'Jane \u202Eexe.doe\u202C Doe\u001b]0;pwned\u0007\u009b2J';
const evilFile = path.join(tmp.dir, 'clip\u001b[2J\u202Egnp.png');

function cli(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args, '--db', db], { encoding: 'utf8', env, timeout: 300_000 });
}

beforeAll(async () => {
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 30, g: 60, b: 90 } } }).png().toFile(evilFile);
});
afterAll(() => tmp.cleanup());

test('escapeControls shows C0, C1 and bidi controls as \\uXXXX and keeps text, tabs and newlines', () => {
  expect(escapeControls('a\u001b[2Jb\u202ec\u009bd\te\nf é 日本')).toBe('a\\u001b[2Jb\\u202ec\\u009bd\te\nf é 日本');
  // JSON stays JSON with the same values.
  const j = JSON.stringify({ n: EVIL_NAME });
  expect(JSON.parse(escapeControls(j))).toEqual({ n: EVIL_NAME });
});

test('enroll: a hostile name reaches stdout and stderr escaped, and the JSON still holds the exact name', () => {
  const junk = path.join(tmp.dir, 'notes\u202Etxt.jpg');
  fs.writeFileSync(junk, 'not an image');
  const r = cli('enroll', '--name', EVIL_NAME, '--no-consent', junk);
  expect(r.status).toBe(2);
  expect(r.stdout).not.toMatch(RAW);
  expect(r.stderr).not.toMatch(RAW);
  const j = JSON.parse(r.stdout) as { name: string; rejected: { file: string }[] };
  expect(j.name).toBe(EVIL_NAME);
  expect(j.rejected[0]!.file).toBe(junk);
});

test('scan: a hostile file name is escaped in the summary line, the JSON and error messages', () => {
  const r = cli('scan', evilFile, path.join(tmp.dir, 'missing\u001b]0;x\u0007.png'));
  expect(r.status).toBe(2);
  expect(r.stderr).not.toMatch(RAW);
  expect(r.stdout).not.toMatch(RAW);
  expect(r.stderr).toContain('clip\\u001b[2J\\u202egnp.png: image');
  expect(r.stderr).toContain('missing\\u001b]0;x\\u0007.png');
  const j = JSON.parse(r.stdout) as { results: { media: { path: string } }[] };
  expect(j.results.map((x) => x.media.path)).toContain(evilFile);
});

test('an error message that quotes user input is escaped too', () => {
  const r = cli('enroll', '--id', 'p\u001b[2J\u202e', evilFile);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^likeness: E_NOT_FOUND: .*p\\u001b\[2J\\u202e/m);
  expect(r.stderr).not.toMatch(RAW);
});
