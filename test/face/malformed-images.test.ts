import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { decodeImage } from '../../src/media/image';
import { FaceAnalyzer } from '../../src/face/analyzer';
import { LikenessError } from '../../src/errors';
import { pngClaiming, sampleImage } from '../helpers/images';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-bad-'));
const files = {
  truncated: path.join(dir, 'truncated.jpg'),
  empty: path.join(dir, 'empty.jpg'),
  text: path.join(dir, 'notes.jpg'),
  bomb: path.join(dir, 'bomb.png'),
};

beforeAll(() => {
  const jpg = fs.readFileSync(sampleImage(1));
  fs.writeFileSync(files.truncated, jpg.subarray(0, Math.floor(jpg.length / 3)));
  fs.writeFileSync(files.empty, Buffer.alloc(0));
  fs.writeFileSync(files.text, 'this is not an image, just text pretending to be one\n');
  fs.writeFileSync(files.bomb, pngClaiming(40000, 40000));
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (e) {
    expect(e).toBeInstanceOf(LikenessError);
    return (e as LikenessError).code;
  }
}

describe('malformed images give a LikenessError code', () => {
  test.each([
    ['truncated', 'E_DECODE'],
    ['empty', 'E_DECODE'],
    ['text', 'E_UNSUPPORTED'],
    ['bomb', 'E_TOO_LARGE'],
  ] as const)('%s -> %s', async (name, code) => {
    const before = process.memoryUsage().rss;
    expect(await codeOf(decodeImage(files[name]))).toBe(code);
    // The 40000x40000 claim would need 4.8 GB; refusing from the header allocates nothing of the sort.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  test('buffers are checked the same way', async () => {
    expect(await codeOf(decodeImage(fs.readFileSync(files.bomb)))).toBe('E_TOO_LARGE');
    expect(await codeOf(decodeImage(Buffer.alloc(0)))).toBe('E_DECODE');
  });

  test('missing file -> E_NOT_FOUND; bad RGB frame -> E_INPUT', async () => {
    expect(await codeOf(decodeImage(path.join(dir, 'nope.jpg')))).toBe('E_NOT_FOUND');
    expect(await codeOf(decodeImage({ width: 10, height: 10, data: new Uint8Array(5) }))).toBe('E_INPUT');
  });

  test('the pixel limit is configurable', async () => {
    expect(await codeOf(decodeImage(sampleImage(1), { maxPixels: 1000 }))).toBe('E_TOO_LARGE');
  });

  test('the analyzer surfaces the same codes and keeps working afterwards', async () => {
    const fa = await FaceAnalyzer.create({ preset: 'fast' });
    const r = await fa.analyzeBatch([files.truncated, files.empty, files.text, files.bomb, sampleImage(1)]);
    expect(r.slice(0, 4).map((x) => (x instanceof LikenessError ? x.code : 'ok'))).toEqual([
      'E_DECODE',
      'E_DECODE',
      'E_UNSUPPORTED',
      'E_TOO_LARGE',
    ]);
    const last = r[4];
    expect(last instanceof LikenessError ? last.code : last!.faces.length).toBeGreaterThanOrEqual(3);
  });

  test('the CLI reports each bad file and exits 2 without crashing', () => {
    const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
    const r = spawnSync(process.execPath, [bin, 'faces', '--preset', 'fast', ...Object.values(files)], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as { results: { file: string; error?: { code: string } }[] };
    expect(out.results.map((x) => x.error?.code)).toEqual(['E_DECODE', 'E_DECODE', 'E_UNSUPPORTED', 'E_TOO_LARGE']);
  });
});
