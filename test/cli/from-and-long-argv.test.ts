import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { makeTmpDir } from '../helpers/media';
import { sampleImage } from '../helpers/images';

// Inputs without the command line (`--from FILE`, `--from -`, newline- or NUL-separated) on scan, enroll and
// identify; and a command line long enough to crash onnxruntime (it reads /proc/self/cmdline when a model loads and
// segfaults over about 32 KB) still scans: 5,000 paths on argv.

const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-cli-from-');
const db = path.join(tmp.dir, 'store.db');
const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home') };
const face = path.join(tmp.dir, 'face.jpg');
const ref = path.join(tmp.dir, 'ref.jpg');
const many = path.join(tmp.dir, 'many');
const PATHS = 5000;

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [bin, ...args, '--db', db], { encoding: 'utf8', env, timeout: 1_200_000, maxBuffer: 1 << 30, ...(input !== undefined ? { input } : {}) });
}

interface ScanOut {
  results: { media: { path: string }; verdicts?: { name: string; decision: string }[]; error?: { code: string } }[];
}

let performerId = '';
beforeAll(async () => {
  // The right-hand person of sample1, cut out twice with different margins: one enrolls, the other is scanned.
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(ref);
  await sharp(sampleImage(1)).extract({ left: 1280, top: 30, width: 600, height: 600 }).jpeg({ quality: 85 }).toFile(face);
  const list = path.join(tmp.dir, 'refs.txt');
  fs.writeFileSync(list, `${ref}\r\n\n`);
  const r = cli(['enroll', '--name', 'Ref', '--no-consent', '--from', list]);
  expect(r.stderr).toBe('');
  performerId = (JSON.parse(r.stdout) as { performerId: string }).performerId;
  expect(performerId).toMatch(/[0-9a-f-]{36}/);
  fs.mkdirSync(many);
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 100, g: 120, b: 130 } } }).png().toBuffer();
  for (let i = 1; i < PATHS; i++) fs.writeFileSync(path.join(many, `still-${String(i).padStart(5, '0')}.png`), tiny);
});
afterAll(() => tmp.cleanup());

const matched = (r: ScanOut['results'][number]): boolean => (r.verdicts ?? []).some((v) => v.name === 'Ref' && v.decision === 'match');

test(`scan over ${PATHS} paths on the command line (about ${PATHS * 40 >> 10} KB of argv) runs the models and reports every input`, () => {
  const paths = [face, ...fs.readdirSync(many).sort().map((f) => path.join(many, f))];
  expect(paths).toHaveLength(PATHS);
  expect(paths.join(' ').length).toBeGreaterThan(64 * 1024);
  const r = cli(['scan', ...paths, '--jsonl']);
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ScanOut['results'][number]);
  expect(results).toHaveLength(PATHS);
  expect(matched(results.find((x) => x.media.path === face)!)).toBe(true); // the face models did load and run
});

test('scan --from FILE (one path per line) and --from - (NUL-separated, any file name) add to the command line', () => {
  const odd = path.join(tmp.dir, 'line\nbreak [x].jpg');
  fs.copyFileSync(face, odd);
  const list = path.join(tmp.dir, 'list.txt');
  fs.writeFileSync(list, `${path.join(many, 'still-00001.png')}\n${path.join(many, 'still-00002.png')}\n`);
  const r = cli(['scan', face, '--from', list, '--from', '-'], `${odd}\0${path.join(many, 'still-00003.png')}\0`);
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as ScanOut;
  expect(out.results.map((x) => path.basename(x.media.path))).toEqual(['face.jpg', 'still-00001.png', 'still-00002.png', 'line\nbreak [x].jpg', 'still-00003.png']);
  expect(matched(out.results[3]!)).toBe(true);
});

test('identify --from - reads the media list from stdin; a missing list file is E_NOT_FOUND', () => {
  const r = cli(['identify', '--from', '-'], `${face}\n`);
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as { results: { faces: { candidates: { performerId: string; decision: string }[] }[] }[] };
  expect(out.results).toHaveLength(1);
  expect(out.results[0]!.faces.some((f) => f.candidates[0]?.performerId === performerId && f.candidates[0]?.decision === 'match')).toBe(true);
  const missing = cli(['identify', '--from', path.join(tmp.dir, 'no-list.txt')]);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/^likeness: E_NOT_FOUND: /m);
});
