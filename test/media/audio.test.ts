import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio, pcmToSignal, streamAudio, type AudioSignal } from '../../src/media/audio';
import { ffmpegPath, probeMedia, runFfmpeg, streamFfmpeg } from '../../src/media/ffmpeg';
import { composeVideoWithAudio, convertAudio, hasEspeak, makeSilentVideo, makeSpeechWav, makeTmpDir, makeTone } from '../helpers/media';
import { describeIf } from '../helpers/requires';

const speechOk = hasEspeak();
const describeSpeech = describeIf(speechOk, 'espeak-ng and ffmpeg');

/** RMS per 20 ms block: a coarse loudness envelope that survives lossy codecs. */
function envelope(x: Float32Array, block = 320): Float64Array {
  const n = Math.floor(x.length / block);
  const e = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    let s = 0;
    for (let i = b * block; i < (b + 1) * block; i++) s += x[i] * x[i];
    e[b] = Math.sqrt(s / block);
  }
  return e;
}

/** Best Pearson correlation of two envelopes over small lags (codecs add a few ms of delay). */
function envelopeCorrelation(a: Float32Array, b: Float32Array): number {
  const ea = envelope(a);
  const eb = envelope(b);
  let best = -1;
  for (let lag = -5; lag <= 5; lag++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < ea.length; i++) if (i + lag >= 0 && i + lag < eb.length) (xs.push(ea[i]), ys.push(eb[i + lag]));
    const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
    const my = ys.reduce((s, v) => s + v, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < xs.length; i++) {
      sxy += (xs[i] - mx) * (ys[i] - my);
      sxx += (xs[i] - mx) ** 2;
      syy += (ys[i] - my) ** 2;
    }
    best = Math.max(best, sxy / Math.sqrt(sxx * syy));
  }
  return best;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function concat(parts: AudioSignal[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.samples.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p.samples, pos);
    pos += p.samples.length;
  }
  return out;
}

describeSpeech('decodeAudio: formats', () => {
  const { dir, cleanup } = makeTmpDir('likeness-audio-');
  const f = (name: string): string => path.join(dir, name);
  let reference: AudioSignal;

  beforeAll(async () => {
    makeSpeechWav('Every performer decides who may use their voice. Consent is recorded before enrolment.', f('espeak.wav'), { voice: 'en-us+m3' });
    convertAudio(f('espeak.wav'), f('s16.wav'), ['-ar', '16000', '-c:a', 'pcm_s16le']);
    convertAudio(f('espeak.wav'), f('s.flac'), ['-c:a', 'flac']);
    convertAudio(f('espeak.wav'), f('s.mp3'), ['-c:a', 'libmp3lame', '-b:a', '64k']);
    reference = await decodeAudio(f('s16.wav'));
  });
  afterAll(cleanup);

  test('16 kHz int16 WAV (fast path) has the right rate, length and range', async () => {
    const info = await probeMedia(f('s16.wav'));
    expect(reference.sampleRate).toBe(16000);
    expect(reference.offset).toBe(0);
    expect(Math.abs(reference.samples.length / 16000 - info.duration)).toBeLessThan(0.01);
    const peak = reference.samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.05);
    expect(peak).toBeLessThanOrEqual(1);
  });

  // Lossless formats at 16 kHz go through ffmpeg without resampling: both paths must give the same numbers.
  test.each([
    ['flac (16-bit)', 's16.flac', ['-c:a', 'flac']],
    ['wav 24-bit, forced through ffmpeg as stereo', 's24-stereo.wav', ['-c:a', 'pcm_s24le', '-ac', '2']],
  ])('%s decodes to the same samples as the WAV fast path', async (_label, name, args) => {
    convertAudio(f('s16.wav'), f(name), args);
    const a = await decodeAudio(f(name));
    expect(a.samples.length).toBe(reference.samples.length);
    expect(maxAbsDiff(a.samples, reference.samples)).toBeLessThan(1e-6);
  });

  test('raw 48 kHz stereo samples become the same 16 kHz signal (pcmToSignal, native resampler)', async () => {
    // pan copies the mono channel to both sides at unity (ffmpeg's plain -ac 2 upmix lowers the level by 3 dB).
    const args = ['-v', 'error', '-i', f('s16.wav'), '-af', 'pan=stereo|c0=c0|c1=c0', '-ar', '48000', '-f', 'f32le', 'pipe:1'];
    const raw = await runFfmpeg(args, { stdout: 'buffer' });
    const bytes = raw.stdout;
    const x = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const sig = await pcmToSignal(x, 48000, { channels: 2, offset: 1.5 });
    expect(sig.sampleRate).toBe(16000);
    expect(sig.offset).toBe(1.5);
    expect(Math.abs(sig.samples.length - reference.samples.length)).toBeLessThanOrEqual(2);
    // Up by ffmpeg, down by ours: what is left of the round trip is the two filters' edges (SNR over 30 dB).
    let err = 0, pow = 0;
    for (let i = 100; i < reference.samples.length - 100; i++) {
      err += (sig.samples[i]! - reference.samples[i]!) ** 2;
      pow += reference.samples[i]! ** 2;
    }
    expect(10 * Math.log10(pow / err)).toBeGreaterThan(30);
  });

  test('pcmToSignal refuses bad rates, channel counts and non-finite samples', async () => {
    await expect(pcmToSignal(new Float32Array(10), 0)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(pcmToSignal(new Float32Array(11), 48000, { channels: 2 })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(pcmToSignal(Float32Array.of(0, NaN, 0), 16000)).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(pcmToSignal([0, 1] as unknown as Float32Array, 16000)).rejects.toMatchObject({ code: 'E_INPUT' });
  });

  test.each([
    ['wav 24-bit 16 kHz (fast path)', 's24.wav', ['-c:a', 'pcm_s24le']],
    ['wav 32-bit int 16 kHz (fast path)', 's32.wav', ['-c:a', 'pcm_s32le']],
    ['wav float 16 kHz (fast path)', 'f32.wav', ['-c:a', 'pcm_f32le']],
  ])('%s equals the int16 reference', async (_label, name, args) => {
    convertAudio(f('s16.wav'), f(name), args);
    const a = await decodeAudio(f(name));
    expect(a.samples.length).toBe(reference.samples.length);
    expect(maxAbsDiff(a.samples, reference.samples)).toBeLessThan(1e-6);
  });

  test.each([
    ['wav 22.05 kHz int16', 'espeak.wav', null, 0.99],
    ['wav 44.1 kHz 24-bit', 's24-44k.wav', ['-ar', '44100', '-c:a', 'pcm_s24le'], 0.99],
    ['wav 48 kHz float', 'f32-48k.wav', ['-ar', '48000', '-c:a', 'pcm_f32le'], 0.99],
    ['wav 8 kHz int16', 's16-8k.wav', ['-ar', '8000', '-c:a', 'pcm_s16le'], 0.95],
    ['flac 44.1 kHz', 's-44k.flac', ['-ar', '44100', '-c:a', 'flac'], 0.99],
    ['mp3', 's.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k'], 0.97],
    ['ogg/opus', 's.opus', ['-c:a', 'libopus', '-b:a', '32k'], 0.95],
    ['m4a/aac', 's.m4a', ['-c:a', 'aac', '-b:a', '64k'], 0.97],
  ])('%s decodes to 16 kHz mono that follows the reference', async (_label, name, args, minCorr) => {
    if (args) convertAudio(f('espeak.wav'), f(name), args);
    const a = await decodeAudio(f(name));
    expect(a.sampleRate).toBe(16000);
    // Lossy codecs pad the start and end by a few tens of milliseconds.
    expect(Math.abs(a.samples.length - reference.samples.length) / 16000).toBeLessThan(0.1);
    expect(envelopeCorrelation(a.samples, reference.samples)).toBeGreaterThan(minCorr);
  });

  test.each([
    ['mp4 (h264 + aac)', 'v.mp4'],
    ['webm (vp8 + opus)', 'v.webm'],
  ])('the audio track of %s', async (_label, name) => {
    composeVideoWithAudio(f('s16.wav'), f(name));
    const info = await probeMedia(f(name));
    expect(info.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
    const v = info.streams.find((s) => s.type === 'video');
    expect(v?.width).toBe(160);
    expect(v?.fps).toBeCloseTo(10, 3);
    const a = await decodeAudio(f(name));
    expect(Math.abs(a.samples.length - reference.samples.length) / 16000).toBeLessThan(0.15);
    expect(envelopeCorrelation(a.samples, reference.samples)).toBeGreaterThan(0.95);
  });

  test('a real mp3 named .wav decodes by its content', async () => {
    convertAudio(f('espeak.wav'), f('mp3-named.wav'), ['-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3']);
    const a = await decodeAudio(f('mp3-named.wav'));
    expect(envelopeCorrelation(a.samples, reference.samples)).toBeGreaterThan(0.97);
  });

  test('a Buffer decodes like the file, on both paths', async () => {
    const wav = await decodeAudio(fs.readFileSync(f('s16.wav')));
    expect(maxAbsDiff(wav.samples, reference.samples)).toBe(0);
    const m4a = await decodeAudio(fs.readFileSync(f('s.m4a')));
    const m4aFile = await decodeAudio(f('s.m4a'));
    expect(m4a.samples.length).toBe(m4aFile.samples.length);
    expect(maxAbsDiff(m4a.samples, m4aFile.samples)).toBe(0);
  });

  test.each([
    ['fast path', 's16.wav'],
    ['ffmpeg path', 's.flac'],
  ])('streamAudio (%s) yields chunks that add up to decodeAudio, with offsets', async (_label, name) => {
    const whole = await decodeAudio(f(name));
    const parts: AudioSignal[] = [];
    for await (const c of streamAudio(f(name), { chunkSeconds: 0.5 })) parts.push(c);
    expect(parts.length).toBe(Math.ceil(whole.samples.length / 8000));
    parts.forEach((p, i) => expect(p.offset).toBeCloseTo(i * 0.5, 9));
    expect(parts.slice(0, -1).every((p) => p.samples.length === 8000)).toBe(true);
    expect(maxAbsDiff(concat(parts), whole.samples)).toBe(0);
    expect(concat(parts).length).toBe(whole.samples.length);
  });

  test.each([
    ['fast path', 's16.wav', 1e-7],
    ['ffmpeg path', 's.flac', 0.05],
  ])('start and duration cut the right part (%s)', async (_label, name, tol) => {
    const part = await decodeAudio(f(name), { start: 1, duration: 0.75 });
    expect(part.offset).toBe(1);
    expect(Math.abs(part.samples.length - 12000)).toBeLessThanOrEqual(2);
    // Two resamplers (ffmpeg's default making the 16 kHz reference, soxr decoding the 22.05 kHz flac) differ a little.
    expect(maxAbsDiff(part.samples.subarray(10, 11000), reference.samples.subarray(16010, 27000))).toBeLessThan(tol);
  });

  test('maxSeconds refuses long input before decoding it', async () => {
    await expect(decodeAudio(f('s16.wav'), { maxSeconds: 1 })).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    await expect(decodeAudio(f('s.mp3'), { maxSeconds: 1 })).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
  });

  test('a video without an audio track is E_UNSUPPORTED', async () => {
    makeSilentVideo(f('silent.mp4'));
    await expect(decodeAudio(f('silent.mp4'))).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringContaining('no audio track') });
  });
});

describe('ffmpeg wrapper', () => {
  const { dir, cleanup } = makeTmpDir('likeness-ffmpeg-');
  afterAll(cleanup);

  test('finds a binary', () => {
    expect(fs.existsSync(ffmpegPath())).toBe(true);
  });

  test.each([
    ['FFMPEG_PATH', () => decodeAudio(path.join(dir, 't.flac'))],
    ['FFPROBE_PATH', () => probeMedia(path.join(dir, 't.flac'))],
  ])('a missing binary (%s) is E_FFMPEG with a hint', async (envVar, run) => {
    makeTone(path.join(dir, 't.flac'));
    const saved = process.env[envVar];
    process.env[envVar] = path.join(dir, 'no-such-binary');
    try {
      await expect(run()).rejects.toMatchObject({ code: 'E_FFMPEG', message: expect.stringContaining(envVar) });
    } finally {
      if (saved === undefined) delete process.env[envVar];
      else process.env[envVar] = saved;
    }
    // With the variable gone the system binary is used again.
    await expect(run()).resolves.toBeDefined();
  });

  test('stdout comes as fixed-size chunks, paced by the consumer', async () => {
    // 1 s of 16 kHz f32 = 64000 bytes; chunks of 6000 bytes (not a divisor) leave a short last one.
    const sizes: number[] = [];
    for await (const c of streamFfmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=300:r=16000:d=1', '-f', 'f32le', 'pipe:1'], { chunkBytes: 6000 })) {
      sizes.push(c.length);
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(sizes.slice(0, -1).every((s) => s === 6000)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64000);
  });

  test('the time limit counts ffmpeg, not a slow consumer', async () => {
    let total = 0;
    const t0 = Date.now();
    for await (const c of streamFfmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=300:r=16000:d=1', '-f', 'f32le', 'pipe:1'], { chunkBytes: 21336, timeoutMs: 2000 })) {
      total += c.length;
      await new Promise((r) => setTimeout(r, 800));
    }
    expect(Date.now() - t0).toBeGreaterThan(2000);
    expect(total).toBe(64000);
  });

  test('breaking out of a stream stops ffmpeg', async () => {
    let n = 0;
    const t0 = Date.now();
    for await (const c of streamFfmpeg(['-v', 'error', '-f', 'lavfi', '-i', 'sine=f=300:r=16000', '-f', 'f32le', 'pipe:1'], { chunkBytes: 64000 })) {
      expect(c.length).toBe(64000);
      if (++n === 3) break; // an endless source: only killing ffmpeg ends this test
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test('timeout and abort end a run with E_TIMEOUT / E_ABORTED', async () => {
    const endless = ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'sine=f=300:r=16000', '-f', 'f32le', 'pipe:1'];
    await expect(runFfmpeg(endless, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'E_TIMEOUT' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(runFfmpeg(endless, { signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  test('an aborted signal stops decodeAudio on both paths', async () => {
    makeTone(path.join(dir, 'long.flac'), { seconds: 30 });
    makeTone(path.join(dir, 'long.wav'), { seconds: 30 });
    for (const name of ['long.flac', 'long.wav']) {
      const ac = new AbortController();
      const it = streamAudio(path.join(dir, name), { chunkSeconds: 1, signal: ac.signal });
      const first = await it.next();
      expect(first.done).toBe(false);
      ac.abort();
      await expect((async () => {
        for (;;) if ((await it.next()).done) return;
      })()).rejects.toMatchObject({ code: 'E_ABORTED' });
    }
  });

  test('bad arguments to ffmpeg itself are a LikenessError', async () => {
    await expect(runFfmpeg(['-v', 'error', '-i', path.join(dir, 'absent.wav'), '-f', 'null', '-'])).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
  });
});
