import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio } from '../../src/media/audio';
import { fbank } from '../../src/kernels/fbank';
import { makeTmpDir } from '../helpers/media';

// Runs the real CLI (bin/likeness.js, which uses dist/ when built and swc on the fly otherwise).
const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'likeness.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'fbank');

function likeness(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('likeness fbank', () => {
  const { dir, cleanup } = makeTmpDir('likeness-cli-fbank-');
  afterAll(cleanup);

  test('--json prints {frames, bins, data} equal to the library, raw (no mean normalisation)', async () => {
    const file = path.join(FIXTURES, 'speech44k.wav');
    const r = likeness('fbank', file, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { frames: number; bins: number; data: number[][] };
    const want = fbank((await decodeAudio(file)).samples);
    expect(out.frames).toBe(want.frames);
    expect(out.bins).toBe(80);
    expect(out.data).toHaveLength(want.frames);
    expect(out.data.every((row) => row.length === 80)).toBe(true);
    let max = 0;
    out.data.forEach((row, f) => row.forEach((v, b) => (max = Math.max(max, Math.abs(v - want.data[f * 80 + b])))));
    expect(max).toBe(0);
    // Raw log-mel: per-bin means are far from zero (speech energies), which CMN would have removed.
    const mean0 = out.data.reduce((s, row) => s + row[40], 0) / out.frames;
    expect(Math.abs(mean0)).toBeGreaterThan(1);
  });

  test('--window and --bins reach the features', () => {
    const r = likeness('fbank', path.join(FIXTURES, 'speech16k-int16.wav'), '--json', '--bins', '64', '--window', 'hamming');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { frames: number; bins: number; data: number[][] };
    expect(out.bins).toBe(64);
    expect(out.data[0]).toHaveLength(64);
  });

  test.each([
    ['a text file named .wav', 'text.wav', 'E_DECODE'],
    ['a zero-byte file', 'empty.mp3', 'E_DECODE'],
    ['a missing file', 'absent.flac', 'E_NOT_FOUND'],
  ])('%s exits non-zero with "likeness: CODE: message"', (_label, name, code) => {
    fs.writeFileSync(path.join(dir, 'text.wav'), 'not audio\n'.repeat(10));
    fs.writeFileSync(path.join(dir, 'empty.mp3'), '');
    const r = likeness('fbank', path.join(dir, name), '--json');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^likeness: ${code}: .+`));
  });

  test('bad options are E_INPUT', () => {
    const r = likeness('fbank', path.join(FIXTURES, 'speech8k.wav'), '--bins', 'many');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^likeness: E_INPUT: /);
  });
});
