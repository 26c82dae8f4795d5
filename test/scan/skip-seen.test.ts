import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { CommandIO } from '../../src/cli/command';
import { SeenTable, progressLine, scanCommands } from '../../src/cli/commands-scan';
import { registryCommands } from '../../src/cli/commands-registry';
import { Guard } from '../../src/guard';
import { DEFAULT_VOICE_MODEL } from '../../src/voice/embed';
import type { ScanEvent } from '../../src/scan/scanner';
import { sampleImage } from '../helpers/images';
import { makeSilentVideo, makeTmpDir } from '../helpers/media';
import { cutFace } from '../helpers/scan-media';

// Issue 14 item 7: --skip-seen skips an input whose sha256 was scanned in this store against the same gallery
// version and model ids (listed as skipped); enroll's JSON names its models; progress moves within one long video.

const tmp = makeTmpDir('lg-seen-');
const f = (n: string): string => path.join(tmp.dir, n);
const db = f('store.db');
process.env.LIKENESS_HOME = f('home');
process.env.LIKENESS_KEY = 'ef'.repeat(32);

async function run(cmd: (a: string[], io: CommandIO) => Promise<number>, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = { out: '', err: '' };
  const code = await cmd(args, { out: (s) => (o.out += s), err: (s) => (o.err += s), status: () => undefined, isTTY: false });
  return { code, ...o };
}
const scan = (...a: string[]) => run(scanCommands.scan!, ...a, '--db', db);
const enroll = (...a: string[]) => run(registryCommands.enroll!, ...a, '--db', db);
const report = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { results: { media: { path: string } }[]; skipped?: { path: string; sha256: string }[] };

beforeAll(async () => {
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(f('ref-a.jpg'));
  await sharp(sampleImage(3)).extract({ left: 950, top: 100, width: 480, height: 480 }).jpeg({ quality: 90 }).toFile(f('ref-c.jpg'));
  await cutFace(sampleImage(1), { x: 1459, y: 218, w: 226, h: 220 }, 0.4, 200, f('a.png'));
  await cutFace(sampleImage(1), { x: 825, y: 422, w: 211, h: 225 }, 0.4, 180, f('b.png'));
});
afterAll(() => tmp.cleanup());

test("enroll's JSON names the face and voice models", async () => {
  const e = await enroll('--name', 'Performer A', '--no-consent', f('ref-a.jpg'));
  expect(e.code).toBe(0);
  const j = JSON.parse(e.out) as { models: { face: string; voice: string } };
  expect(j.models).toEqual({ face: 'faceplugin-mfn512-int8', voice: DEFAULT_VOICE_MODEL });
  const b = await enroll('--name', 'Performer A2', '--no-consent', '--model', 'baseline-mfcc-stats', f('not-there.jpg'));
  expect(JSON.parse(b.out).models).toEqual({ face: 'faceplugin-mfn512-int8', voice: 'baseline-mfcc-stats' });
});

test('--skip-seen: same gallery and models skip (listed as skipped); another voice model, preset or gallery version rescans', async () => {
  const inputs = [f('a.png'), f('b.png')];
  const first = await scan(...inputs, '--skip-seen', '--json', f('s1.json'));
  expect(first.code).toBe(0);
  expect(report(f('s1.json')).results).toHaveLength(2);
  expect(report(f('s1.json')).skipped).toEqual([]);

  const again = await scan(...inputs, '--skip-seen', '--json', f('s2.json'));
  expect(report(f('s2.json')).results).toHaveLength(0);
  expect(report(f('s2.json')).skipped!.map((s) => s.path).sort()).toEqual(inputs.sort());
  expect(report(f('s2.json')).skipped![0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(again.err).toMatch(/2 skipped as already seen/);

  // Another voice model: scanned again, then skipped under that model too.
  const baseline = await scan(...inputs, '--skip-seen', '--model', 'baseline-mfcc-stats', '--json', f('s3.json'));
  expect(baseline.code).toBe(0);
  expect(report(f('s3.json')).results).toHaveLength(2);
  await scan(...inputs, '--skip-seen', '--model', 'baseline-mfcc-stats', '--json', f('s4.json'));
  expect(report(f('s4.json')).results).toHaveLength(0);

  // Another face preset: scanned again.
  await scan(f('a.png'), '--skip-seen', '--preset', 'fast', '--json', f('s5.json'));
  expect(report(f('s5.json')).results).toHaveLength(1);

  // The gallery changes (a new performer): scanned again.
  expect((await enroll('--name', 'Performer C', '--no-consent', f('ref-c.jpg'))).code).toBe(0);
  await scan(...inputs, '--skip-seen', '--json', f('s6.json'));
  expect(report(f('s6.json')).results).toHaveLength(2);

  // Without --skip-seen nothing is skipped and the report has no skipped list.
  await scan(f('a.png'), '--json', f('s7.json'));
  expect(report(f('s7.json')).results).toHaveLength(1);
  expect(report(f('s7.json')).skipped).toBeUndefined();
});

test('the progress line moves within one long video: seconds scanned of total, and the bar fills', async () => {
  makeSilentVideo(f('long.mp4'), 20);
  const g = await Guard.open({ db });
  const lines: string[] = [];
  const seconds: number[] = [];
  try {
    for await (const e of g.scanMany([f('long.mp4')], { fps: 2 }) as AsyncIterable<ScanEvent>) {
      if (e.type === 'progress' && e.progress.stage === 'video' && e.progress.seconds !== undefined) {
        seconds.push(e.progress.seconds);
        lines.push(progressLine(e));
      }
    }
  } finally {
    await g.close();
  }
  expect(seconds.length).toBeGreaterThan(10);
  for (let i = 1; i < seconds.length; i++) expect(seconds[i]!).toBeGreaterThanOrEqual(seconds[i - 1]!);
  expect(lines[0]).toMatch(/^\[\.{20}\] 0\/1 long\.mp4 video \d+ frames 0\.\d of 20\.\d s$/);
  const fill = (l: string) => /^\[(#*)/.exec(l)![1]!.length;
  expect(fill(lines[lines.length - 1]!)).toBeGreaterThanOrEqual(18);
  expect(lines[lines.length - 1]).toMatch(/ 19\.\d of 20\.\d s$/);
});

test('progressLine: finished inputs plus the fraction of the current one', () => {
  const e = (done: number, total: number, seconds?: number, duration?: number): ScanEvent => ({
    type: 'progress', index: 0, done, total, progress: { path: '/x/film.mkv', stage: 'video', frames: 3, ...(seconds !== undefined ? { seconds } : {}), ...(duration !== undefined ? { duration } : {}) },
  });
  expect(progressLine(e(0, 1, 30, 60), 10)).toBe('[#####.....] 0/1 film.mkv video 3 frames 30.0 of 60.0 s');
  expect(progressLine(e(1, 2, 30, 60), 10)).toBe('[#######...] 1/2 film.mkv video 3 frames 30.0 of 60.0 s');
  expect(progressLine(e(0, 1, 5), 10)).toBe('[..........] 0/1 film.mkv video 3 frames 5.0 s');
  expect(progressLine(e(0, 1, 90, 60), 10)).toBe('[##########] 0/1 film.mkv video 3 frames 90.0 of 60.0 s');
});

test('the seen table lives beside a store file, and under the data folder for a store URL (no file named by the URL)', () => {
  expect(SeenTable.open(db).file).toBe(`${db}.seen.json`);
  const t = SeenTable.open('postgres://user:secret@db.example/likeness');
  expect(path.dirname(t.file)).toBe(path.join(f('home'), 'seen'));
  expect(t.file).not.toContain('secret');
  const key = { galleryVersion: 3, facePreset: 'accurate', faceModel: 'm', voiceModel: 'v' };
  t.add('ab'.repeat(32), key);
  t.save();
  const again = SeenTable.open('postgres://user:secret@db.example/likeness');
  expect(again.has('ab'.repeat(32), key)).toBe(true);
  expect(again.has('ab'.repeat(32), { ...key, voiceModel: 'other' })).toBe(false);
  expect(again.has('constructor', key)).toBe(false);
});
