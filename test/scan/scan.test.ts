import { spawnSync } from 'child_process';
import { ffprobePath } from '../../src/media/ffmpeg';
import { findChromium } from '../../src/report/pdf';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import { SCAN_SCHEMA_VERSION, isScanFailure, type ScanFailure, type ScanResult } from '../../src/report/schema';
import { sampleImage } from '../helpers/images';
import { hasEspeak, makeSilentVideo, makeSpeechWav, makeTmpDir, truncateFile } from '../helpers/media';
import { composeVideo, cutFace } from '../helpers/scan-media';
import { scanCli } from '../helpers/scan-cli';
import { testIf } from '../helpers/requires';

// A project-made "ad": performer A's face (cut from a sample photo) on screen 1-4 s, two other people 4-8 s, and A's
// synthetic voice speaking from 1 s. A is enrolled from a different crop and scale of the same photo.

const tmp = makeTmpDir('lg-scan-');
const f = (n: string): string => path.join(tmp.dir, n);
const db = f('store.db');
process.env.LIKENESS_HOME = f('home');
process.env.LIKENESS_KEY = 'cd'.repeat(32);
const speech = hasEspeak();

let guard: Guard;
let performerA = '';
let performerC = '';
let ad: ScanResult;

const A_BOX = { x: 1459, y: 218, w: 226, h: 220 };

function ok(r: ScanResult | ScanFailure): ScanResult {
  if (isScanFailure(r)) throw new Error(`scan failed: ${r.error.code} ${r.error.message}`);
  return r;
}

beforeAll(async () => {
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(f('ref-a.jpg'));
  // C is enrolled but never appears: a face from another photo.
  await sharp(sampleImage(3)).extract({ left: 950, top: 100, width: 480, height: 480 }).jpeg({ quality: 90 }).toFile(f('ref-c.jpg'));
  await cutFace(sampleImage(1), A_BOX, 0.4, 200, f('a.png'));
  await cutFace(sampleImage(1), { x: 825, y: 422, w: 211, h: 225 }, 0.4, 180, f('b.png'));
  await cutFace(sampleImage(2), { x: 1445, y: 156, w: 204, h: 238 }, 0.4, 180, f('c.png'));
  if (speech) {
    makeSpeechWav('The quick brown fox jumps over the lazy dog while the performer reads a long consent statement aloud.', f('voice-ref.wav'), { voice: 'en-us+m3' });
    makeSpeechWav('A second recording of the same voice, about weather and trains.', f('voice-ad.wav'), { voice: 'en-us+m3' });
  }
  composeVideo(f('ad.mp4'), [
    { image: f('a.png'), start: 1, end: 4, x: 220, y: 80 },
    { image: f('b.png'), start: 4, end: 8, x: 60, y: 90 },
    { image: f('c.png'), start: 4.5, end: 8, x: 380, y: 90 },
  ], { width: 640, height: 360, seconds: 8, ...(speech ? { audio: { file: f('voice-ad.wav'), at: 1 } } : {}) });
  guard = await Guard.open({ db });
  const a = await guard.enroll({ name: 'Performer <A>', noConsent: true }, [f('ref-a.jpg'), ...(speech ? [f('voice-ref.wav')] : [])]);
  const c = await guard.enroll({ name: 'Performer C', noConsent: true }, [f('ref-c.jpg')]);
  performerA = a.performerId!;
  performerC = c.performerId!;
  ad = ok(await guard.scan(f('ad.mp4')));
});

afterAll(async () => {
  await guard?.close();
  tmp.cleanup();
});

test('video: A is found on screen 1-4 s within +/-0.5 s, with a face crop as evidence', () => {
  expect(ad.media).toMatchObject({ kind: 'video', width: 640, height: 360, bytes: fs.statSync(f('ad.mp4')).size });
  expect(ad.media.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(ad.media.duration).toBeCloseTo(8, 0);
  const face = ad.matches.filter((m) => m.modality === 'face');
  expect(face.map((m) => m.performerId)).toEqual([performerA]);
  const m = face[0]!;
  expect(m.decision).toBe('match');
  expect(m.segments).toHaveLength(1);
  expect(Math.abs(m.segments[0]!.start - 1)).toBeLessThanOrEqual(0.5);
  expect(Math.abs(m.segments[0]!.end - 4)).toBeLessThanOrEqual(0.5);
  expect(m.segments[0]!.box!.x).toBeGreaterThan(150);
  expect(m.evidence.time).toBeGreaterThanOrEqual(1);
  expect(m.evidence.time).toBeLessThan(4);
  expect(m.evidence.faceCrop).toMatch(/^data:image\/jpeg;base64,/);
  const jpeg = Buffer.from(m.evidence.faceCrop!.split(',')[1]!, 'base64');
  expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  expect(jpeg.length).toBeLessThan(20_000);
  // The track's first, best and last crops, in time order, within the time A is on screen (1-4 s).
  const crops = m.evidence.faceCrops!;
  expect(crops.map((c) => c.role)).toContain('best');
  expect(crops.find((c) => c.role === 'best')!.crop).toBe(m.evidence.faceCrop);
  expect(crops.map((c) => c.time)).toEqual([...crops.map((c) => c.time)].sort((x, y) => x - y));
  expect(crops.map((c) => c.role)).toEqual(['first', 'best', 'last'].filter((r) => crops.some((c) => c.role === r)));
  expect(crops.length).toBeGreaterThanOrEqual(2);
  for (const c of crops) {
    expect(c.crop).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(c.time).toBeGreaterThanOrEqual(0.5);
    expect(c.time).toBeLessThan(4.5);
  }
  expect(m.modelId).toBe(guard.faces.modelId);
  expect(m.name).toBe('Performer <A>');
  expect(ad.stats?.sampledFrames).toBe(16);
  // The decision rule of the face search is in the result: thresholds for this gallery at the default rates.
  const rule = ad.decisionRules?.find((d) => d.modality === 'face');
  expect(rule).toMatchObject({ modelId: guard.faces.modelId, falseMatchRate: { match: 1e-3, possible: 1e-2 } });
  expect(rule!.thresholds.match).toBeGreaterThan(rule!.thresholds.possible);
  expect(m.score).toBeGreaterThanOrEqual(rule!.thresholds.match);
  expect(rule!.comparisons).toBeGreaterThanOrEqual(2);
  // A was enrolled explicitly without consent: the result says so.
  expect(ad.performers).toEqual([{ performerId: performerA, name: 'Performer <A>', consent: { status: 'not_recorded' } }]);
  expect(ad.stats?.facesEmbedded).toBeLessThanOrEqual(ad.stats!.facesSeen!);
});

test('video: nobody else is a match (the unenrolled people on screen 4-8 s, the enrolled C who never appears)', () => {
  for (const m of ad.matches) {
    if (m.decision !== 'match') continue;
    expect(m.performerId).toBe(performerA);
    if (m.modality === 'face') for (const s of m.segments) expect(s.end).toBeLessThanOrEqual(4.5);
  }
  expect(ad.matches.some((m) => m.performerId === performerC)).toBe(false);
});

testIf(speech, 'espeak-ng')('video: the soundtrack is scanned; face and voice coinciding give a fused verdict', () => {
  const voice = ad.matches.find((m) => m.modality === 'voice' && m.performerId === performerA);
  expect(voice).toBeDefined();
  expect(voice!.segments[0]!.start).toBeGreaterThanOrEqual(0.8);
  // The neural default needs no baseline warning.
  expect(ad.warnings.join(' ')).not.toMatch(/baseline/);
  const v = ad.verdicts.find((x) => x.performerId === performerA)!;
  expect(v.modalities.sort()).toEqual(['face', 'voice']);
  expect(v.overlaps.length).toBeGreaterThan(0);
  const face = ad.matches.find((m) => m.modality === 'face')!;
  expect(v.confidence).toBeCloseTo(1 - (1 - face.confidence) * (1 - voice!.confidence), 6);
  expect(v.overlaps[0]!.start).toBeGreaterThanOrEqual(0.8);
  expect(v.overlaps[0]!.end).toBeLessThanOrEqual(4.5);
  expect(ad.timings.total).toBeGreaterThan(0);
  expect(ad.timings.faces).toBeGreaterThan(0);
});

testIf(speech, 'espeak-ng')('video: a voice match carries an Ogg Opus clip of its speech, <= 10 s, about 32 kb/s', () => {
  const voice = ad.matches.find((m) => m.modality === 'voice' && m.performerId === performerA)!;
  expect(voice.evidence.voiceClip).toMatch(/^data:audio\/ogg;base64,T2dnUw/);
  const clip = f('clip.ogg');
  fs.writeFileSync(clip, Buffer.from(voice.evidence.voiceClip!.split(',')[1]!, 'base64'));
  const probe = spawnSync(ffprobePath(), ['-v', 'error', '-show_entries', 'stream=codec_name,channels:format=duration,bit_rate', '-of', 'json', clip], { encoding: 'utf8' });
  const j = JSON.parse(probe.stdout) as { streams: { codec_name: string; channels: number }[]; format: { duration: string; bit_rate: string } };
  expect(j.streams[0]).toMatchObject({ codec_name: 'opus', channels: 1 });
  const seg = voice.segments.find((s) => s.start <= voice.evidence.time && voice.evidence.time <= s.end)!;
  expect(Number(j.format.duration)).toBeLessThanOrEqual(10.05);
  expect(Number(j.format.duration)).toBeGreaterThan(Math.min(10, seg.end - voice.evidence.time) - 0.1);
  expect(Number(j.format.bit_rate)).toBeLessThan(48_000);
});

test('image: every face is identified; A is reported with its box and start = end = 0', async () => {
  const r = ok(await guard.scan(sampleImage(1)));
  expect(r.media).toMatchObject({ kind: 'image', width: 1920, height: 1280 });
  expect(r.matches).toHaveLength(1);
  const m = r.matches[0]!;
  expect(m).toMatchObject({ performerId: performerA, modality: 'face', decision: 'match' });
  expect(m.segments).toHaveLength(1);
  expect(m.segments[0]).toMatchObject({ start: 0, end: 0 });
  expect(m.segments[0]!.box!.x).toBeGreaterThan(1300);
  expect(r.verdicts).toEqual([expect.objectContaining({ performerId: performerA, modalities: ['face'], overlaps: [] })]);
});

test('a Buffer and a byte stream scan like the file (same hash, same performer)', async () => {
  const bytes = fs.readFileSync(f('a.png'));
  const r1 = ok(await guard.scan(bytes, { label: 'upload.png' }));
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += 4096) yield bytes.subarray(i, i + 4096);
  }
  const r2 = ok(await guard.scan(chunks(), { label: 'stream.png' }));
  expect(r1.media.path).toBe('upload.png');
  expect(r1.media.sha256).toBe(r2.media.sha256);
  expect(r1.matches[0]?.performerId).toBe(performerA);
  expect(r2.matches[0]?.performerId).toBe(performerA);
});

test('a video without an audio track scans its frames and skips audio cleanly', async () => {
  makeSilentVideo(f('silent.mp4'), 1);
  const r = ok(await guard.scan(f('silent.mp4')));
  expect(r.media.kind).toBe('video');
  expect(r.matches).toEqual([]);
  expect(r.timings.voices).toBeUndefined();
});

test('malformed inputs give error entries and the others go on (scanMany, with progress events)', async () => {
  fs.writeFileSync(f('empty.mp4'), '');
  fs.writeFileSync(f('text.mp4'), 'this is not a video at all, just words in a file named like one\n');
  truncateFile(f('ad.mp4'), f('truncated.mp4'), 0.4);
  const inputs = [f('empty.mp4'), f('text.mp4'), f('truncated.mp4'), f('missing.mp4'), f('a.png')];
  const results = new Map<number, ScanResult | ScanFailure>();
  let progress = 0;
  for await (const e of guard.scanMany(inputs, { concurrency: 2 })) {
    if (e.type === 'progress') progress++;
    if (e.type === 'result') results.set(e.index, e.result);
  }
  expect(progress).toBeGreaterThan(0);
  expect(results.size).toBe(inputs.length);
  const codes = inputs.map((_, i) => {
    const r = results.get(i)!;
    return isScanFailure(r) ? r.error.code : 'ok';
  });
  expect(codes[0]).toBe('E_DECODE');
  expect(['E_DECODE', 'E_UNSUPPORTED']).toContain(codes[1]);
  expect(['E_DECODE', 'E_UNSUPPORTED']).toContain(codes[2]);
  expect(codes[3]).toBe('E_NOT_FOUND');
  expect(codes[4]).toBe('ok');
  for (const i of [0, 1, 2, 3]) expect((results.get(i) as ScanFailure).media.path).toBe(inputs[i]);
});

test('scanMany stops with E_ABORTED when its signal fires', async () => {
  const ac = new AbortController();
  ac.abort();
  const it = guard.scanMany([f('ad.mp4')], { signal: ac.signal });
  await expect((async () => {
    for await (const e of it) void e;
  })()).rejects.toMatchObject({ code: 'E_ABORTED' });
});

/** Runs the scan command in-process and captures what it prints. */
const cli = (...args: string[]) => scanCli(db, ...args);

describe('likeness scan (CLI)', () => {
  test('--json FILE writes {schemaVersion, results} in input order; exit 2 when some input failed', async () => {
    const r = await cli(f('a.png'), f('text.mp4'), '--json', f('out.json'), '--report', f('out.html'));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const j = JSON.parse(fs.readFileSync(f('out.json'), 'utf8'));
    expect(j.schemaVersion).toBe(SCAN_SCHEMA_VERSION);
    expect(j.results).toHaveLength(2);
    expect(j.results[0].media.path).toBe(f('a.png'));
    expect(j.results[0].matches[0].performerId).toBe(performerA);
    expect(j.results[1]).toEqual({ media: { path: f('text.mp4') }, error: { code: expect.stringMatching(/^E_/), message: expect.any(String) } });
    expect(r.err).toMatch(/1 scanned, 1 failed/);
    const html = fs.readFileSync(f('out.html'), 'utf8');
    expect(html).toMatch(/<html/i);
    expect(html).not.toContain('Performer <A>');
  });

  testIf(findChromium() !== null, 'Chromium')('--report FILE.pdf prints the page; without Chromium it is E_UNSUPPORTED before any scan', async () => {
    const r = await cli(f('a.png'), '--json', f('pdf.json'), '--report', f('out.pdf'));
    expect(r.code).toBe(0);
    expect(fs.readFileSync(f('out.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const saved = process.env['CHROMIUM_PATH'];
    process.env['CHROMIUM_PATH'] = f('no-such-chromium');
    try {
      await expect(cli(f('a.png'), '--json', f('nopdf.json'), '--report', f('no.pdf'))).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/Chromium.*apt-get install chromium.*CHROMIUM_PATH/) });
      expect(fs.existsSync(f('nopdf.json'))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env['CHROMIUM_PATH'];
      else process.env['CHROMIUM_PATH'] = saved;
    }
  });

  test('--jsonl prints one result per line; a folder is scanned recursively; exit 0 when all scanned', async () => {
    fs.mkdirSync(f('folder/sub'), { recursive: true });
    fs.copyFileSync(f('a.png'), f('folder/sub/one.png'));
    fs.copyFileSync(f('b.png'), f('folder/two.png'));
    const r = await cli(f('folder'), '--jsonl');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => path.basename(l.media.path)).sort()).toEqual(['one.png', 'two.png']);
    const one = lines.find((l) => l.media.path.endsWith('one.png'));
    expect(one.matches[0].performerId).toBe(performerA);
    expect(lines.find((l) => l.media.path.endsWith('two.png')).matches).toEqual([]);
  });

  test('globs expand; --skip-seen skips media already scanned against the same gallery', async () => {
    const pattern = path.join(tmp.dir, 'folder', '**', '*.png');
    const first = await cli(pattern, '--skip-seen', '--json', f('seen1.json'));
    expect(first.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(f('seen1.json'), 'utf8')).results).toHaveLength(2);
    const again = await cli(pattern, '--skip-seen', '--json', f('seen2.json'));
    expect(again.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(f('seen2.json'), 'utf8')).results).toHaveLength(0);
    expect(again.err).toMatch(/2 skipped/);
    const none = await cli(path.join(tmp.dir, 'nothing-*.mov'));
    expect(none.code).toBe(2);
    expect(JSON.parse(none.out).results[0].error.code).toBe('E_NOT_FOUND');
  });

  test('bad arguments fail the command itself', async () => {
    await expect(cli()).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(cli(f('a.png'), '--fps', '0')).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(cli(f('a.png'), '--preset', 'turbo')).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
