import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { decodeAudio, streamAudio } from '../../src/media/audio';
import { isLikenessError, type ErrorCode } from '../../src/errors';
import { convertAudio, hasEspeak, makeLyingWav, makeSpeechWav, makeTmpDir, makeTone, truncateFile } from '../helpers/media';

// Malformed input must end in a LikenessError with a code: no crash, no hang, no huge allocation.

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Bytes held by live ArrayBuffers right now: V8 frees dead buffers on a background sweeper, so collect, wait, collect. */
async function liveBuffers(): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 10));
  gc();
  return process.memoryUsage().arrayBuffers;
}

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (!isLikenessError(e)) throw e;
    return e.code;
  }
}

async function drain(file: string): Promise<number> {
  let n = 0;
  for await (const c of streamAudio(file, { chunkSeconds: 1 })) n += c.samples.length;
  return n;
}

describe('malformed audio', () => {
  const { dir, cleanup } = makeTmpDir('likeness-malformed-');
  const f = (name: string): string => path.join(dir, name);
  const speechOk = hasEspeak();

  beforeAll(() => {
    if (speechOk) makeSpeechWav('This sentence is long enough to be cut in half, and then in half again, for the tests.', f('speech.wav'));
    else makeTone(f('speech.wav'), { seconds: 4, sampleRate: 22050 });
    convertAudio(f('speech.wav'), f('good.flac'), ['-c:a', 'flac']);
    convertAudio(f('speech.wav'), f('good.mp3'), ['-c:a', 'libmp3lame', '-b:a', '64k']);
    truncateFile(f('good.flac'), f('cut.flac'), 0.4);
    truncateFile(f('good.mp3'), f('cut.mp3'), 0.4);
    fs.writeFileSync(f('empty.wav'), Buffer.alloc(0));
    fs.writeFileSync(f('empty.mp3'), Buffer.alloc(0));
    fs.writeFileSync(f('text.wav'), 'this is not audio at all\n'.repeat(20));
    fs.writeFileSync(f('text.mp3'), 'ID3 but not really\n'.repeat(20));
    fs.writeFileSync(f('noise.flac'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    fs.copyFileSync(f('good.mp3'), f('mp3-named.wav'));
    fs.copyFileSync(f('good.flac'), f('flac-named.mp3'));
    makeLyingWav(f('ten-hours.wav'), 36000, 1, 16000);
    makeLyingWav(f('ten-hours-44k.wav'), 36000, 1, 44100);
  });
  afterAll(cleanup);

  test.each([
    ['truncated flac', 'cut.flac', 'E_DECODE'],
    ['truncated mp3', 'cut.mp3', 'E_DECODE'],
    ['zero-byte .wav', 'empty.wav', 'E_DECODE'],
    ['zero-byte .mp3', 'empty.mp3', 'E_DECODE'],
    ['a text file named .wav', 'text.wav', 'E_DECODE'],
    ['a text file named .mp3', 'text.mp3', 'E_DECODE'],
    ['random bytes named .flac', 'noise.flac', 'E_DECODE'],
    ['a WAV header claiming 10 hours (16 kHz, fast path)', 'ten-hours.wav', 'E_DECODE'],
    ['a WAV header claiming 10 hours (44.1 kHz, ffmpeg path)', 'ten-hours-44k.wav', 'E_DECODE'],
    ['a missing file', 'absent.wav', 'E_NOT_FOUND'],
  ])('%s -> %s from decodeAudio and streamAudio', async (_label, name, code) => {
    const t0 = Date.now();
    expect(await codeOf(decodeAudio(f(name)))).toBe(code);
    expect(await codeOf(drain(f(name)))).toBe(code);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test.each([
    ['a real mp3 named .wav', 'mp3-named.wav'],
    ['a real flac named .mp3', 'flac-named.mp3'],
  ])('wrong extension: %s decodes by content', async (_label, name) => {
    const a = await decodeAudio(f(name));
    const ref = await decodeAudio(f('good.flac'));
    expect(Math.abs(a.samples.length - ref.samples.length) / 16000).toBeLessThan(0.1);
  });

  test('the 10-hour header is refused without allocating for it', async () => {
    // 10 h at 16 kHz would be 2.3 GB as float32; the refusal must come from the header check alone.
    const before = await liveBuffers();
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)), 1);
    const t0 = Date.now();
    const err = await decodeAudio(f('ten-hours.wav')).catch((e: unknown) => e);
    clearInterval(timer);
    expect(err).toMatchObject({ code: 'E_DECODE', message: expect.stringContaining('36000.0 s') });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(peak).toBeLessThan(8 * 1024 * 1024);
  });

  test('tolerateDamage decodes what is really there', async () => {
    const wav = await decodeAudio(f('ten-hours.wav'), { tolerateDamage: true });
    expect(wav.samples.length).toBe(16000);
    const wav44 = await decodeAudio(f('ten-hours-44k.wav'), { tolerateDamage: true });
    expect(Math.abs(wav44.samples.length - 16000)).toBeLessThan(200);
    const mp3 = await decodeAudio(f('cut.mp3'), { tolerateDamage: true });
    const full = await decodeAudio(f('good.mp3'));
    expect(mp3.samples.length).toBeGreaterThan(full.samples.length * 0.25);
    expect(mp3.samples.length).toBeLessThan(full.samples.length * 0.6);
  });

  test('a WAV with a chunk that runs past the end of the file is E_DECODE', async () => {
    const good = fs.readFileSync(f('ten-hours.wav')).subarray(0, 44 + 3200);
    const list = Buffer.alloc(8);
    list.write('LIST', 0, 'latin1');
    list.writeUInt32LE(0x7ffffff0, 4);
    // RIFF + fmt, then a LIST chunk claiming 2 GB, then data
    const bad = Buffer.concat([good.subarray(0, 36), list, good.subarray(36)]);
    fs.writeFileSync(f('bad-list.wav'), bad);
    expect(await codeOf(decodeAudio(f('bad-list.wav')))).toBe('E_DECODE');
  });

  test('a WAV with an impossible fmt chunk is E_DECODE', async () => {
    const b = Buffer.from(fs.readFileSync(f('ten-hours.wav')).subarray(0, 44 + 3200));
    b.writeUInt32LE(3200, 40);
    b.writeUInt16LE(0, 22); // zero channels
    fs.writeFileSync(f('zero-channels.wav'), b);
    expect(await codeOf(decodeAudio(f('zero-channels.wav')))).toBe('E_DECODE');
  });

  test('a directory or a bad argument is E_INPUT', async () => {
    expect(await codeOf(decodeAudio(dir))).toBe('E_INPUT');
    expect(await codeOf(decodeAudio(''))).toBe('E_INPUT');
    expect(await codeOf(decodeAudio(f('good.flac'), { start: -1 }))).toBe('E_INPUT');
    expect(await codeOf(decodeAudio(42 as unknown as string))).toBe('E_INPUT');
  });

  test('streaming an hour-long-like input holds one chunk at a time', async () => {
    makeTone(f('long.flac'), { seconds: 600, sampleRate: 16000, args: ['-c:a', 'flac', '-compression_level', '0'] });
    const before = await liveBuffers();
    let peak = 0;
    let n = 0;
    let k = 0;
    for await (const c of streamAudio(f('long.flac'), { chunkSeconds: 10 })) {
      n += c.samples.length;
      if (++k % 6 === 0) peak = Math.max(peak, (await liveBuffers()) - before);
    }
    expect(n).toBe(600 * 16000);
    // 10 minutes would be 38 MB as float32; live memory stays near one 640 kB chunk plus pipe buffers.
    expect(peak).toBeLessThan(4 * 1024 * 1024);
  });
});
