import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isLikenessError, type ErrorCode } from '../../src/errors';
import { decodeAudio, streamAudio } from '../../src/media/audio';
import { newDecodeReport } from '../../src/media/ffmpeg';
import { gateInput, listMediaFiles, sha256File, statRegularFile } from '../../src/media/gate';
import { decodeImage, readImageHeader } from '../../src/media/image';
import { probeInput } from '../../src/media/kind';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/media/limits';
import { scaledSize, streamVideoFrames } from '../../src/media/video';
import { limitsFrom } from '../../src/cli/args';
import { Guard } from '../../src/guard';
import { makeTmpDir } from '../helpers/media';

// The input gate of issue #15: only regular files (or caller-given bytes and streams) are read; special files named
// like media are refused before open() (a FIFO would block forever); limits come from one place.

const { dir, cleanup } = makeTmpDir('lg-gate-');
const f = (n: string): string => path.join(dir, n);
afterAll(cleanup);

function codeOfSync(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!isLikenessError(e)) throw e;
    return e.code;
  }
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (!isLikenessError(e)) throw e;
    return e.code;
  }
}

beforeAll(() => {
  execFileSync('mkfifo', [f('pipe.jpg')]);
  execFileSync('mkfifo', [f('pipe.wav')]);
  fs.mkdirSync(f('folder.png'));
  fs.writeFileSync(f('real.bin'), Buffer.alloc(1000, 7));
  fs.symlinkSync(f('real.bin'), f('link.bin'));
  fs.symlinkSync(f('nothing-here'), f('dangling.jpg'));
  fs.symlinkSync(f('loop-a.mp4'), f('loop-b.mp4'));
  fs.symlinkSync(f('loop-b.mp4'), f('loop-a.mp4'));
  fs.symlinkSync('/dev/zero', f('zero.wav'));
});

describe('statRegularFile / openRegularFile', () => {
  test.each([
    ['a FIFO', 'pipe.jpg', 'E_INPUT'],
    ['a folder', 'folder.png', 'E_INPUT'],
    ['a dangling link', 'dangling.jpg', 'E_INPUT'],
    ['a link loop', 'loop-a.mp4', 'E_INPUT'],
    ['a link to a device', 'zero.wav', 'E_INPUT'],
    ['a missing file', 'absent.jpg', 'E_NOT_FOUND'],
    ['a link to a regular file', 'link.bin', 'ok'],
  ])('%s -> %s', (_l, name, code) => {
    expect(codeOfSync(() => statRegularFile(f(name)))).toBe(code);
  });

  test('every reader refuses a FIFO at once instead of blocking', async () => {
    expect(await codeOf(decodeImage(f('pipe.jpg')))).toBe('E_INPUT');
    expect(await codeOf(readImageHeader(f('pipe.jpg')))).toBe('E_INPUT');
    expect(await codeOf(decodeAudio(f('pipe.wav')))).toBe('E_INPUT');
    expect(await codeOf(probeInput(f('pipe.wav')))).toBe('E_INPUT');
    expect(await codeOf(sha256File(f('pipe.wav')))).toBe('E_INPUT');
    expect(await codeOf(gateInput(f('pipe.wav')))).toBe('E_INPUT');
    const frames = async (): Promise<void> => {
      for await (const _ of streamVideoFrames(f('pipe.jpg'))) void _;
    };
    expect(await codeOf(frames())).toBe('E_INPUT');
  });

  test('maxFileBytes is checked from the file system before reading', () => {
    expect(codeOfSync(() => statRegularFile(f('real.bin'), { maxFileBytes: 999 }))).toBe('E_TOO_LARGE');
    expect(codeOfSync(() => statRegularFile(f('real.bin'), { maxFileBytes: 1000 }))).toBe('ok');
  });
});

describe('gateInput', () => {
  test('bytes and streams become a private temp file with their sha256; the temp file goes on cleanup', async () => {
    const g = await gateInput(Buffer.from('hello'), { label: 'greeting' });
    expect(g.label).toBe('greeting');
    expect(g.sha256).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(fs.readFileSync(g.file, 'utf8')).toBe('hello');
    g.cleanup();
    expect(fs.existsSync(g.file)).toBe(false);
  });

  test('a stream that never ends stops at maxFileBytes; an abort stops it too', async () => {
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) yield new Uint8Array(64 * 1024);
    }
    expect(await codeOf(gateInput(endless(), { limits: { maxFileBytes: 1 << 20 } }))).toBe('E_TOO_LARGE');
    const ac = new AbortController();
    let n = 0;
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (;;) {
        if (++n === 3) ac.abort();
        yield new Uint8Array(10);
      }
    }
    expect(await codeOf(gateInput(slow(), { signal: ac.signal }))).toBe('E_ABORTED');
    expect(await codeOf(gateInput(42 as unknown as Buffer))).toBe('E_INPUT');
  });
});

describe('listMediaFiles', () => {
  test('follows links to files, not to folders; special files and broken links are problems; the cap holds', () => {
    const root = f('tree');
    fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
    for (const n of ['a.jpg', 'b.jpg', 'sub/c.jpg']) fs.writeFileSync(path.join(root, n), 'x');
    fs.symlinkSync(path.join(root, 'a.jpg'), path.join(root, 'to-a.jpg'));
    fs.symlinkSync(root, path.join(root, 'sub', 'up')); // a loop through a folder link
    fs.symlinkSync(path.join(root, 'gone'), path.join(root, 'broken.jpg'));
    execFileSync('mkfifo', [path.join(root, 'fifo.mp4')]);
    const r = listMediaFiles(root);
    expect(r.files.map((x) => path.relative(root, x))).toEqual(['a.jpg', 'b.jpg', 'sub/c.jpg', 'to-a.jpg']);
    expect(r.problems.map((p) => [path.basename(p.path), p.error.code])).toEqual([
      ['broken.jpg', 'E_INPUT'],
      ['fifo.mp4', 'E_INPUT'],
    ]);
    const capped = listMediaFiles(root, { maxFiles: 2 });
    expect(capped.files).toHaveLength(2);
    expect(capped.truncated).toBe(true);
    expect(capped.problems.at(-1)?.error.code).toBe('E_TOO_LARGE');
  });
});

describe('limits', () => {
  test('defaults, overrides, and E_INPUT from the validation module for bad names and values', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ maxPixels: 1000 }).maxPixels).toBe(1000);
    expect(codeOfSync(() => resolveLimits({ maxPixel: 5 } as never))).toBe('E_INPUT');
    expect(codeOfSync(() => resolveLimits({ maxPixels: -1 }))).toBe('E_INPUT');
    expect(codeOfSync(() => resolveLimits({ maxPixels: 1.5 }))).toBe('E_INPUT');
    expect(codeOfSync(() => resolveLimits('big' as never))).toBe('E_INPUT');
  });

  test('--max-* flags map to limits', () => {
    expect(limitsFrom({ 'max-pixels': '2000000', 'max-duration-s': '60', 'max-file-bytes': '1024' })).toEqual({ maxPixels: 2_000_000, maxDurationS: 60, maxFileBytes: 1024 });
    expect(codeOfSync(() => limitsFrom({ 'max-channels': 'two' }))).toBe('E_INPUT');
    expect(codeOfSync(() => limitsFrom({ 'max-frame-bytes': '' }))).toBe('E_INPUT');
  });

  test('video frames fit in maxWidth x maxWidth whatever the aspect ratio', () => {
    expect(scaledSize(100_000, 16, 1280)).toEqual({ width: 1280, height: 2 });
    expect(scaledSize(16, 100_000, 1280)).toEqual({ width: 2, height: 1280 });
    expect(scaledSize(1080, 1920, 1280)).toEqual({ width: 720, height: 1280 });
  });
});

describe('durations from what decodes, truncation and junk samples', () => {
  const ff = (args: string[]): void => void execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);

  test('a cut-off MKV: E_DECODE by default; with tolerateDamage it decodes and the report says truncated', async () => {
    ff(['-f', 'lavfi', '-i', 'sine=frequency=300:duration=6', '-c:a', 'libopus', f('tone.mkv')]);
    const b = fs.readFileSync(f('tone.mkv'));
    fs.writeFileSync(f('cut.mkv'), b.subarray(0, Math.floor(b.length * 0.5)));
    expect(await codeOf(decodeAudio(f('cut.mkv')))).toBe('E_DECODE');
    const report = newDecodeReport();
    const a = await decodeAudio(f('cut.mkv'), { tolerateDamage: true, report });
    expect(report.truncated).toBe(true);
    expect(a.samples.length / 16000).toBeCloseTo(report.decodedSeconds, 3);
    expect(report.decodedSeconds).toBeLessThan(5);
    expect(report.warnings.join(' ')).toMatch(/truncated/);
  });

  test('a lying MKV duration is a warning, not an error, and the duration limit counts decoded samples', async () => {
    const b = Buffer.from(fs.readFileSync(f('tone.mkv')));
    const i = b.indexOf(Buffer.from([0x44, 0x89]));
    expect(i).toBeGreaterThan(0);
    if (b[i + 2] === 0x88) b.writeDoubleBE(4294967295 * 1000, i + 3);
    else b.writeFloatBE(4294967295 * 1000, i + 3);
    fs.writeFileSync(f('lying.mkv'), b);
    const report = newDecodeReport();
    const a = await decodeAudio(f('lying.mkv'), { report });
    expect(a.samples.length / 16000).toBeGreaterThan(5.5);
    expect(report.truncated).toBe(false);
    expect(report.warnings.join(' ')).toMatch(/declares .* s but .* s decode/);
    expect(await codeOf(decodeAudio(f('lying.mkv'), { limits: { maxDurationS: 3 } }))).toBe('E_TOO_LARGE');
  });

  test('NaN, infinite and 3e38 float samples are refused at decode, on both paths', async () => {
    const wav = (samples: Float32Array, rate: number): Buffer => {
      const h = Buffer.alloc(44);
      h.write('RIFF', 0, 'latin1');
      h.writeUInt32LE(36 + samples.byteLength, 4);
      h.write('WAVEfmt ', 8, 'latin1');
      h.writeUInt32LE(16, 16);
      h.writeUInt16LE(3, 20);
      h.writeUInt16LE(1, 22);
      h.writeUInt32LE(rate, 24);
      h.writeUInt32LE(rate * 4, 28);
      h.writeUInt16LE(4, 32);
      h.writeUInt16LE(32, 34);
      h.write('data', 36, 'latin1');
      h.writeUInt32LE(samples.byteLength, 40);
      return Buffer.concat([h, Buffer.from(samples.buffer)]);
    };
    for (const v of [NaN, Infinity, 3e38]) {
      for (const rate of [16000, 44100]) {
        const reason = await decodeAudio(wav(new Float32Array(rate).fill(v), rate)).catch((e: unknown) => (isLikenessError(e) ? `${e.code}:${String(e.details?.reason)}` : 'crash'));
        expect([v, rate, reason]).toEqual([v, rate, expect.stringMatching(/^E_DECODE:(non_finite|extreme)$/)]);
      }
    }
    let n = 0;
    for await (const c of streamAudio(wav(new Float32Array(16000).fill(0.25), 16000))) n += c.samples.length;
    expect(n).toBe(16000);
  });
});

describe('one probe per input (issue #11)', () => {
  test('a video scan runs ffprobe once; a plain WAV needs no ffprobe; importing the scanner does not load sharp', async () => {

    const log = f('ffprobe.log');
    const wrapper = f('ffprobe-counting.sh');
    const real = execFileSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(wrapper, `#!/bin/sh\necho run >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const ff = (args: string[]): void => void execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
    ff(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=5:d=2', '-f', 'lavfi', '-i', 'sine=d=2', '-shortest', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', f('clip.mp4')]);
    ff(['-f', 'lavfi', '-i', 'sine=d=2', '-ar', '16000', f('tone16.wav')]);
    const before = process.env.FFPROBE_PATH;
    process.env.FFPROBE_PATH = wrapper;
    process.env.LIKENESS_HOME = f('home');
    const g = await Guard.open({ db: f('probe.db'), facePreset: 'fast' });
    try {
      const runs = (): number => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
      await g.scan(f('clip.mp4'));
      expect(runs()).toBe(1);
      await g.scan(f('tone16.wav'));
      expect(runs()).toBe(1);
    } finally {
      await g.close();
      if (before === undefined) delete process.env.FFPROBE_PATH;
      else process.env.FFPROBE_PATH = before;
    }
    const out = execFileSync(process.execPath, ['-r', '@swc-node/register', '-e', "require('./src/scan/scanner'); process.stdout.write(String(Object.keys(require.cache).filter((k) => k.includes('/node_modules/sharp/')).length))"], {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
    });
    expect(out).toBe('0');
  }, 300_000);
});
