import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isLikenessError } from '../../src/errors';
import { Guard } from '../../src/guard';
import { isScanFailure, type ScanFailure, type ScanResult } from '../../src/report/schema';
import { makeTmpDir } from '../helpers/media';
import { makeMalformedCorpus, type CorpusEntry } from './corpus';

// The malformed corpus (test/fuzz/corpus.ts, >= 150 generated files) through the library in-process and about 40
// of them through the CLI's faces, scan, enroll and identify. Every outcome must be a result or a typed error:
// 0 crashes, 0 E_INTERNAL, no hang (a 300 s watchdog per input marks one).

const WATCHDOG_MS = 300_000;
const tmp = makeTmpDir('lg-corpus-');
const db = path.join(tmp.dir, 'store.db');
process.env.LIKENESS_HOME = path.join(tmp.dir, 'home');
process.env.LIKENESS_KEY = 'ef'.repeat(32);
const BIN = path.join(__dirname, '..', '..', 'bin', 'likeness.js');

let corpus: CorpusEntry[] = [];
let guard: Guard;

/** What one input gave: `ok`, a LikenessError code, or a failure (crash / hang) with its text. */
type Outcome = { kind: 'ok' } | { kind: 'error'; code: string } | { kind: 'crash'; what: string } | { kind: 'hang' };

async function watched(p: Promise<unknown>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Outcome>((r) => (timer = setTimeout(() => r({ kind: 'hang' }), WATCHDOG_MS)));
  const run = p.then(
    (v): Outcome => {
      const r = v as ScanResult | ScanFailure;
      if (r && typeof r === 'object' && 'error' in r && isScanFailure(r)) return { kind: 'error', code: r.error.code };
      return { kind: 'ok' };
    },
    (e: unknown): Outcome => (isLikenessError(e) ? { kind: 'error', code: e.code } : { kind: 'crash', what: e instanceof Error ? e.stack ?? e.message : String(e) }),
  );
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function bad(o: Outcome): boolean {
  return o.kind === 'crash' || o.kind === 'hang' || (o.kind === 'error' && o.code === 'E_INTERNAL');
}

beforeAll(async () => {
  corpus = await makeMalformedCorpus(path.join(tmp.dir, 'corpus'));
  const preset = process.env.LIKENESS_CORPUS_PRESET === 'accurate' ? 'accurate' : 'fast';
  guard = await Guard.open({ db, facePreset: preset });
  // A gallery with a face and a voice, so scans run both pipelines on every input.
  const src = path.join(tmp.dir, 'corpus', '.src');
  await guard.enroll({ name: 'Reference', noConsent: true }, [path.join(tmp.dir, 'corpus', 'valid.jpg'), path.join(src, 'speech16.wav')]);
  // The CLI runs below use the default (accurate) preset: enroll the face for it too.
  if (preset === 'fast') {
    const acc = await Guard.open({ db });
    await acc.enroll({ name: 'Reference (accurate)', noConsent: true }, [path.join(tmp.dir, 'corpus', 'valid.jpg')]);
    await acc.close();
  }
}, 600_000);

afterAll(async () => {
  await guard?.close();
  tmp.cleanup();
});

test('the corpus has at least 150 files and every class of the issue', () => {
  expect(corpus.length).toBeGreaterThanOrEqual(150);
  const classes = new Set(corpus.map((c) => c.cls));
  for (const c of ['truncation', 'bitflip', 'wrong-magic', 'header-bomb', 'zero-bytes', 'colour-space', 'exif', 'polyglot', 'special', 'extreme-aspect', 'large-real', 'extreme-video', 'long-blank']) {
    expect(classes).toContain(c);
  }
});

test('every file through Guard.scan (and the special, bomb and junk ones through identify): typed results only', async () => {
  const failures: string[] = [];
  const codes: Record<string, number> = {};
  for (const entry of corpus) {
    const o = await watched(guard.scan(entry.file));
    const key = o.kind === 'error' ? o.code : o.kind;
    codes[key] = (codes[key] ?? 0) + 1;
    if (bad(o)) failures.push(`${path.basename(entry.file)} [${entry.cls}] scan: ${JSON.stringify(o)}`);
    if (['special', 'header-bomb', 'zero-bytes', 'non-finite', 'wrong-magic'].includes(entry.cls)) {
      const i = await watched(guard.identify(entry.file));
      if (bad(i)) failures.push(`${path.basename(entry.file)} [${entry.cls}] identify: ${JSON.stringify(i)}`);
    }
  }
  console.log(`corpus in-process (${guard.faces.preset} preset): ${corpus.length} files, outcomes ${JSON.stringify(codes)}`);
  expect(failures).toEqual([]);
}, 3_600_000);

test('special files, bombs and non-finite audio give the codes they should', async () => {
  const code = async (name: string): Promise<string> => {
    const r = await guard.scan(path.join(tmp.dir, 'corpus', name));
    return isScanFailure(r) ? r.error.code : 'ok';
  };
  for (const n of ['fifo.jpg', 'fifo.wav', 'fifo.mp4', 'socket.jpg', 'device.wav', 'folder.jpg', 'dangling.jpg', 'loop.mp4', 'link-to-folder.png']) expect([n, await code(n)]).toEqual([n, 'E_INPUT']);
  for (const n of ['bomb-40000.png', 'bomb-65500.jpg', 'zlib-bomb-20000.png']) expect([n, await code(n)]).toEqual([n, 'E_TOO_LARGE']);
  // 2^31-1 on a side is past what the PNG decoder accepts at all: refused as damaged before any size check.
  expect(['E_TOO_LARGE', 'E_DECODE']).toContain(await code('bomb-max.png'));
  for (const n of ['nan.wav', 'inf.wav', 'huge-3e38.wav', 'nan-44k.wav', 'clipped-square.wav']) expect([n, await code(n)]).toEqual([n, 'E_DECODE']);
  expect(await code('link-to-valid.jpg')).toBe('ok');
  expect(await code('frames-4800x3600.mp4')).toBe('E_TOO_LARGE');
});

test('a lying duration header and a cut-off container are scanned, with the right warning', async () => {
  const lying = (await guard.scan(path.join(tmp.dir, 'corpus', 'lying-duration.mkv'))) as ScanResult;
  expect(isScanFailure(lying)).toBe(false);
  expect(lying.media.duration).toBeLessThan(30);
  expect(lying.warnings.join('\n')).toMatch(/declares .* s but .* s decode/);
  const cut = (await guard.scan(path.join(tmp.dir, 'corpus', 'trunc-60.mkv'))) as ScanResult;
  expect(isScanFailure(cut)).toBe(false);
  expect(cut.media.truncated).toBe(true);
  const empty = (await guard.scan(path.join(tmp.dir, 'corpus', 'empty-audio-track.mkv'))) as ScanResult;
  expect(isScanFailure(empty)).toBe(false);
  expect(empty.media.streams?.some((s) => s.type === 'video' && !s.error)).toBe(true);
});

/** Runs the CLI with a watchdog; resolves with its exit code and output. */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, WATCHDOG_MS);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, hung });
    });
  });
}

describe('about 40 corpus files through the CLI', () => {
  const pick = (names: string[]): string[] => names.map((n) => path.join(tmp.dir, 'corpus', n));

  test('faces: exit 2, one typed entry per input', async () => {
    const files = pick(['fifo.jpg', 'socket.jpg', 'folder.jpg', 'dangling.jpg', 'bomb-40000.png', 'strip-10000x3.png', 'exif-ifd-bomb.jpg', 'cmyk.jpg', 'trunc-50.jpg', 'flip-any-64.png', 'large-8000x6000.jpg']);
    const r = await cli(['faces', ...files]);
    expect(r.hung).toBe(false);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as { results: { file: string; error?: { code: string } }[] };
    expect(out.results).toHaveLength(files.length);
    expect(out.results.filter((x) => x.error?.code === 'E_INTERNAL')).toEqual([]);
    expect(out.results.slice(0, 4).map((x) => x.error?.code)).toEqual(['E_INPUT', 'E_INPUT', 'E_INPUT', 'E_INPUT']);
  }, 2 * WATCHDOG_MS);

  test('scan --json: exit 2 with {media: {path}, error: {code, message}} for each bad input', async () => {
    const files = pick(['fifo.mp4', 'loop.mp4', 'device.wav', 'bomb-10h.wav', 'nan.wav', 'trunc-30.mp4', 'lying-duration.mp4', 'frames-4800x3600.mp4', 'wide-4096x16.mp4', 'two-video-two-audio.mkv']);
    const json = path.join(tmp.dir, 'scan.json');
    const r = await cli(['scan', '--db', db, '--json', json, ...files]);
    expect(r.hung).toBe(false);
    expect(r.status).toBe(2);
    const rep = JSON.parse(fs.readFileSync(json, 'utf8')) as { results: (ScanResult | ScanFailure)[] };
    expect(rep.results).toHaveLength(files.length);
    const failed = rep.results.filter(isScanFailure);
    for (const x of failed) expect(x).toEqual({ media: { path: expect.any(String) }, error: { code: expect.stringMatching(/^E_/), message: expect.any(String) } });
    expect(failed.map((x) => x.error.code)).not.toContain('E_INTERNAL');
    expect(Object.fromEntries(failed.map((x) => [path.basename(x.media.path), x.error.code]))).toMatchObject({ 'fifo.mp4': 'E_INPUT', 'loop.mp4': 'E_INPUT', 'device.wav': 'E_INPUT', 'nan.wav': 'E_DECODE' });
  }, 2 * WATCHDOG_MS);

  test('enroll: bad references are rejected with a code, the command finishes', async () => {
    const files = pick(['fifo.wav', 'zeros-4k.jpg', 'inf.wav', 'huge-3e38.wav', 'bomb-65500.jpg', 'trunc-20.wav', 'text.wav', 'gif-plus-js.gif', 'exif-orient-6.jpg', 'tall-16x4096.mp4']);
    const r = await cli(['enroll', '--db', db, '--name', 'Corpus', '--no-consent', ...files]);
    expect(r.hung).toBe(false);
    expect([0, 2]).toContain(r.status);
    const out = JSON.parse(r.stdout) as { rejected: { file: string; code: string }[] };
    expect(out.rejected.map((x) => x.code)).not.toContain('E_INTERNAL');
    const byFile = Object.fromEntries(out.rejected.map((x) => [path.basename(x.file), x.code]));
    expect(byFile).toMatchObject({ 'fifo.wav': 'E_INPUT', 'inf.wav': 'E_DECODE', 'huge-3e38.wav': 'E_DECODE', 'bomb-65500.jpg': 'E_TOO_LARGE' });
  }, 2 * WATCHDOG_MS);

  test('identify: exit 2, every bad file its own typed entry', async () => {
    const files = pick(['fifo.jpg', 'link-to-folder.png', 'bomb.gif', 'bomb.bmp', 'bomb-channels.wav', 'bomb-rate.wav', 'nan-44k.wav', 'empty.mp3', 'riff-not-wave.wav', 'html.jpg']);
    const r = await cli(['identify', '--db', db, ...files]);
    expect(r.hung).toBe(false);
    expect(r.status).toBe(2);
    const out = JSON.parse(r.stdout) as { results: { media: { path: string }; error?: { code: string } }[] };
    expect(out.results).toHaveLength(files.length);
    expect(out.results.map((x) => x.error?.code)).not.toContain('E_INTERNAL');
  }, 2 * WATCHDOG_MS);
});
