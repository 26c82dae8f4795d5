import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { openStore } from '../../src/store/open';
import { makeTmpDir } from '../helpers/media';

// `--json` / `--report` never overwrite the store, an input of the same run or each other; an output that cannot be
// written fails before the scan; outputs are written by rename (temp file in the same folder).

const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-cli-out-');
const db = path.join(tmp.dir, 'store.db');
const img = path.join(tmp.dir, 'plain.png');
const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home') };

function scan(...args: string[]) {
  return spawnSync(process.execPath, [bin, 'scan', img, '--db', db, ...args], { encoding: 'utf8', env, timeout: 300_000 });
}

beforeAll(async () => {
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toFile(img);
  const s = await openStore({ location: db });
  await s.upsertPerformer({ name: 'Someone', aliases: [], consent: null });
  await s.close();
});
afterAll(() => tmp.cleanup());

/** The per-input summary line a scan prints once it has scanned `img`. */
const scannedLine = new RegExp(`^${img.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm');
const bytes = (f: string): Buffer => fs.readFileSync(f);

test.each([
  ['--json over the store', () => ['--json', db]],
  ['--report over the store (through a symlink)', () => {
    const link = path.join(tmp.dir, 'store-link.html');
    if (!fs.existsSync(link)) fs.symlinkSync(db, link);
    return ['--report', link];
  }],
  ['--json over the store WAL', () => ['--json', `${db}-wal`]],
  ['--json over a hard link to the store', () => {
    const hard = path.join(tmp.dir, 'hard.json');
    if (!fs.existsSync(hard)) fs.linkSync(db, hard);
    return ['--json', hard];
  }],
  ['--json over the input', () => ['--json', img]],
  ['--json over the input by another spelling', () => ['--json', path.join(tmp.dir, '.', '..', path.basename(tmp.dir), 'plain.png')]],
  ['--json over the --from list', () => {
    const list = path.join(tmp.dir, 'inputs.txt');
    fs.writeFileSync(list, `${img}\n`);
    return ['--from', list, '--json', list];
  }],
  ['--json and --report on one file', () => ['--json', path.join(tmp.dir, 'same.html'), '--report', path.join(tmp.dir, 'same.html')]],
])('%s is refused before scanning, nothing overwritten', (_what, args) => {
  const before = { db: bytes(db), img: bytes(img) };
  const r = scan(...args());
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^likeness: E_INPUT: .*would overwrite/m);
  expect(r.stderr).not.toMatch(scannedLine); // no input was scanned
  expect(bytes(db).equals(before.db)).toBe(true);
  expect(bytes(img).equals(before.img)).toBe(true);
  expect(fs.existsSync(path.join(tmp.dir, 'same.html'))).toBe(false);
});

test('an output that cannot be written fails before the scan', () => {
  const notDir = path.join(tmp.dir, 'a-file');
  fs.writeFileSync(notDir, 'x');
  const r = scan('--report', path.join(notDir, 'out.html'));
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^likeness: E_INPUT: --report .*cannot be written/m);
  expect(r.stderr).not.toMatch(scannedLine);
});

test('outputs are replaced by rename: a hard link to the old file keeps the old content, no temp file is left', () => {
  const out = path.join(tmp.dir, 'out', 'scan.json');
  const other = path.join(tmp.dir, 'other-name.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, 'old');
  fs.linkSync(out, other);
  const r = scan('--json', out);
  expect(r.status).toBe(0);
  expect(JSON.parse(fs.readFileSync(out, 'utf8')).results).toHaveLength(1);
  expect(fs.readFileSync(other, 'utf8')).toBe('old');
  expect(fs.readdirSync(path.dirname(out))).toEqual(['scan.json']);
});
