import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { makeTmpDir } from '../helpers/media';
import { optionalSampleImage } from '../helpers/images';
import { testIf } from '../helpers/requires';

// `scan --jsonl-file FILE` writes each input's line as soon as it is known (append + flush): a SIGKILL mid-batch
// leaves every finished input's line intact. One input that throws something other than a LikenessError becomes an
// E_INTERNAL entry and the batch goes on; the final --json report and the summary are still written.

const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
const inject = path.join(__dirname, '..', 'helpers', 'inject-internal.js');
const tmp = makeTmpDir('lg-cli-jsonl-');
const db = path.join(tmp.dir, 'store.db');
const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home') };
const plain: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < 4; i++) {
    const f = path.join(tmp.dir, i === 2 ? `boom-${i}.png` : `plain-${i}.png`);
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 40 * i, g: 140, b: 200 } } }).png().toFile(f);
    plain.push(f);
  }
});
afterAll(() => tmp.cleanup());

/** The complete lines of a JSONL file, parsed, and the trailing bytes after the last newline. */
function readLines(file: string): { lines: { media: { path: string }; error?: { code: string; message: string } }[]; tail: string } {
  const text = fs.readFileSync(file, 'utf8');
  const cut = text.lastIndexOf('\n') + 1;
  return { lines: text.slice(0, cut).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l)), tail: text.slice(cut) };
}

test('--jsonl-file holds one line per input; --json, stdout and the summary agree', () => {
  const jsonl = path.join(tmp.dir, 'out', 'a.jsonl');
  const json = path.join(tmp.dir, 'out', 'a.json');
  const missing = path.join(tmp.dir, 'nothing-*.png');
  const r = spawnSync(process.execPath, [bin, 'scan', ...plain, missing, '--db', db, '--jsonl-file', jsonl, '--json', json], { encoding: 'utf8', env });
  expect(r.status).toBe(2); // the glob that matched nothing is a failed input
  expect(r.stdout).toBe(''); // file outputs only: nothing on stdout
  const { lines, tail } = readLines(jsonl);
  expect(tail).toBe('');
  expect(lines.map((l) => l.media.path).sort()).toEqual([...plain, missing].sort());
  expect(lines.find((l) => l.media.path === missing)!.error!.code).toBe('E_NOT_FOUND');
  const report = JSON.parse(fs.readFileSync(json, 'utf8')) as { results: unknown[] };
  expect(report.results).toHaveLength(5);
  expect(r.stderr).toMatch(/likeness scan: 4 scanned, 1 failed/);
});

test('--jsonl-file with --jsonl: the same lines on stdout and in the file', () => {
  const jsonl = path.join(tmp.dir, 'b.jsonl');
  const r = spawnSync(process.execPath, [bin, 'scan', ...plain, '--db', db, '--jsonl-file', jsonl, '--jsonl'], { encoding: 'utf8', env });
  expect(r.status).toBe(0);
  expect(r.stdout).toBe(fs.readFileSync(jsonl, 'utf8'));
});

test('--jsonl-file is refused over an input or the store, before scanning', () => {
  for (const target of [plain[0]!, db]) {
    const before = fs.existsSync(target) ? fs.readFileSync(target) : null;
    const r = spawnSync(process.execPath, [bin, 'scan', ...plain, '--db', db, '--jsonl-file', target], { encoding: 'utf8', env });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_INPUT: --jsonl-file .* would overwrite/);
    if (before) expect(fs.readFileSync(target).equals(before)).toBe(true);
  }
});

test('an input that throws a non-LikenessError is E_INTERNAL on its entry; the batch goes on and every output is written', () => {
  const jsonl = path.join(tmp.dir, 'c.jsonl');
  const json = path.join(tmp.dir, 'c.json');
  const report = path.join(tmp.dir, 'c.html');
  const r = spawnSync(process.execPath, ['-r', inject, bin, 'scan', ...plain, '--db', db, '--jsonl-file', jsonl, '--json', json, '--report', report], {
    encoding: 'utf8',
    env: { ...env, LIKENESS_TEST_INJECT_INTERNAL: 'boom-' },
  });
  expect(r.status).toBe(2);
  const { lines } = readLines(jsonl);
  expect(lines).toHaveLength(4);
  const boom = lines.find((l) => l.media.path.includes('boom-'))!;
  expect(boom.error).toMatchObject({ code: 'E_INTERNAL' });
  expect(boom.error!.message).toMatch(/injected failure/);
  expect(lines.filter((l) => l.error === undefined)).toHaveLength(3);
  const full = JSON.parse(fs.readFileSync(json, 'utf8')) as { results: { media: { path: string }; error?: { code: string } }[] };
  expect(full.results.map((x) => x.error?.code ?? 'ok')).toEqual(['ok', 'ok', 'E_INTERNAL', 'ok']);
  expect(fs.readFileSync(report, 'utf8')).toContain('boom-2.png');
  expect(r.stderr).toMatch(/likeness scan: 3 scanned, 1 failed/);
});

const sample = optionalSampleImage(1);
testIf(sample !== undefined, '@vladmandic/face-api demo photos')('SIGKILL mid-batch leaves every finished line intact and parseable; a rerun appends the rest', async () => {
  // Photos with faces take real work per input, so the batch is still running when the log has its first lines.
  const inputs: string[] = [];
  for (let i = 0; i < 40; i++) {
    const f = path.join(tmp.dir, `kill-${i}.jpg`);
    // Bytes after the JPEG end marker make every copy a different file (--skip-seen goes by content).
    fs.writeFileSync(f, Buffer.concat([fs.readFileSync(optionalSampleImage(((i % 6) + 1) as 1 | 2 | 3 | 4 | 5 | 6)!), Buffer.from(`copy ${i}`)]));
    inputs.push(f);
  }
  const jsonl = path.join(tmp.dir, 'killed.jsonl');
  const json = path.join(tmp.dir, 'killed.json');
  const args = [bin, 'scan', ...inputs, '--db', db, '--jsonl-file', jsonl, '--skip-seen', '--concurrency', '2'];
  const child = spawn(process.execPath, [...args, '--json', json], { env, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  let killedAt = -1;
  while (child.exitCode === null && child.signalCode === null) {
    if (fs.existsSync(jsonl) && readLines(jsonl).lines.length >= 3) {
      killedAt = readLines(jsonl).lines.length;
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await exited).toBe('SIGKILL');
  // A kill can land inside the write of one long line (the kernel may stop a multi-page write early): that cut-off
  // tail has no newline, is skipped by readers, and never touches the lines before it, which must all parse.
  const { lines } = readLines(jsonl);
  expect(lines.length).toBeGreaterThanOrEqual(killedAt);
  expect(lines.length).toBeLessThan(inputs.length);
  expect(new Set(lines.map((l) => l.media.path)).size).toBe(lines.length);
  for (const l of lines) {
    expect(inputs).toContain(l.media.path);
    expect(l).toHaveProperty('verdicts');
  }
  expect(fs.existsSync(json)).toBe(false); // the final report is written at the end, atomically, never half

  // A cut-off last line (as a kill inside a write leaves) is dropped on the rerun, which appends the rest.
  fs.appendFileSync(jsonl, '{"media":{"path":"/cut-off');
  const again = spawnSync(process.execPath, args, { encoding: 'utf8', env });
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/ended in a cut-off line .* dropped/);
  const after = readLines(jsonl);
  expect(after.tail).toBe('');
  expect(after.lines.slice(0, lines.length)).toEqual(lines); // the killed run's lines, untouched
  expect(new Set(after.lines.map((l) => l.media.path))).toEqual(new Set(inputs));
  // The seen table was saved as it went (after the first result at once, then at most a tenth of the time), so the
  // rerun skips what the killed run had saved: at least the first input, more when the machine is not loaded.
  expect(after.lines.length).toBeLessThan(lines.length + inputs.length);
  expect(again.stderr).toMatch(/skipped as already seen/);
});
