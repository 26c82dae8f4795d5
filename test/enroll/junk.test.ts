import { spawnSync } from 'child_process';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import { FaceAnalyzer } from '../../src/face/analyzer';
import { VoiceEmbedder } from '../../src/voice/embed';
import { gateReferences } from '../../src/enroll/gate';
import { decodeAudio } from '../../src/media/audio';
import { ARCFACE_112 } from '../../src/kernels/geometry';
import { degeneracy } from '../../src/kernels/vector';
import { openStore } from '../../src/store/open';
import type { FaceDetection, RgbImage } from '../../src/types';
import { makeTmpDir, writeWav } from '../helpers/media';
import { optionalSampleImage } from '../helpers/images';
import { describeIf } from '../helpers/requires';
import { fakeHash } from '../helpers/vectors';

// Junk can be neither enrolled nor matched, through the Guard API and the CLI: flat and noise images, silence, tones,
// noise, NaN audio. The junk sets are what the shipped models really make of junk (scripts/junk-embeddings.ts
// measured them against real faces and voices); held-out junk, not in the sets, is caught too, and real faces and
// voices are not. A store poisoned with a junk template before these checks cannot be matched by junk either.

const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-junk-');
afterAll(() => tmp.cleanup());
const f = (name: string): string => path.join(tmp.dir, name);
const gen = (n: number, fn: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => fn(i));
const rnd = (() => {
  let s = 12345;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
})();
const sample = optionalSampleImage(1);
const voiceRef = path.join(__dirname, '..', 'fixtures', 'voice', 'espeak-f4.wav');

const flat = (r: number, g: number, b: number): RgbImage => ({ width: 112, height: 112, data: Uint8Array.from({ length: 112 * 112 * 3 }, (_, i) => [r, g, b][i % 3]!) });
const noiseImage = (w: number, h: number): RgbImage => ({ width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rnd() * 256)) });

/** Junk media on disk: what an attacker would upload. */
const junk = {
  tone: () => writeWav(f('tone.wav'), gen(48000, (i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000)), { format: 'i16' }),
  // A 300 Hz tone pulsing 4 times a second: the default speech detector (silero) calls 9.8 s of it speech.
  am: () => writeWav(f('am.wav'), gen(160000, (i) => 0.5 * Math.sin((2 * Math.PI * 300 * i) / 16000) * (0.5 + 0.5 * Math.sin((2 * Math.PI * 4 * i) / 16000))), { format: 'i16' }),
  noise: () => writeWav(f('noise.wav'), gen(48000, () => 0.4 * (rnd() - 0.5)), { format: 'i16' }),
  silence: () => writeWav(f('silence.wav'), new Float32Array(48000), { format: 'i16' }),
  nan: () => writeWav(f('nan.wav'), gen(80000, () => NaN)),
  huge: () => writeWav(f('huge.wav'), gen(80000, (i) => (i % 2 ? 3e38 : -3e38))),
  flatPng: async () => (await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toFile(f('flat.png')), f('flat.png')),
  noisePng: async () => {
    const img = noiseImage(320, 240);
    await sharp(Buffer.from(img.data), { raw: { width: 320, height: 240, channels: 3 } }).png().toFile(f('noise.png'));
    return f('noise.png');
  },
};

describeIf(sample !== undefined, '@vladmandic/face-api demo photos')('junk is never enrolled or matched', () => {
  let faces: FaceAnalyzer;
  let voice: VoiceEmbedder;
  beforeAll(async () => {
    faces = await FaceAnalyzer.create();
    voice = await VoiceEmbedder.create();
  });

  test('face junk set: held-out flat and noise crops are junk, real faces are not', async () => {
    const set = await faces.junkSet();
    expect(set.modelId).toBe(faces.modelId);
    const at = ARCFACE_112.map(([x, y]) => [x, y]) as FaceDetection['landmarks'];
    const det: FaceDetection = { box: { x: 0, y: 0, w: 112, h: 112 }, landmarks: at, score: 1 };
    // Not in the set: other grey levels and colours, fresh noise.
    for (const crop of [flat(100, 100, 100), flat(220, 220, 220), flat(200, 160, 130), flat(220, 200, 40), noiseImage(112, 112)]) {
      const [face] = await faces.describe(crop, [det]);
      expect(degeneracy(face!.embedding, set)?.kind).toBe('junk');
    }
    let real = 0;
    for (const n of [1, 2, 3, 4, 5, 6] as const) {
      for (const face of (await faces.analyze(optionalSampleImage(n)!)).faces) {
        expect(degeneracy(face.embedding, set)).toBeNull();
        real++;
      }
    }
    expect(real).toBeGreaterThan(10);
  });

  test('voice junk set: held-out tones, DC and noise are junk, real speech is not', async () => {
    const set = await voice.junkSet();
    for (const x of [gen(48000, (i) => 0.3 * Math.sin((2 * Math.PI * 250 * i) / 16000)), gen(48000, () => -0.3), gen(48000, () => 0.2 * (rnd() - 0.5)), gen(48000, (i) => 0.3 * Math.sin(i / 3) + 0.02 * (rnd() - 0.5))]) {
      expect(degeneracy(await voice.embedSamples(x), set)?.kind).toBe('junk');
    }
    for (const file of ['espeak-f4.wav', 'espeak-m3.wav']) {
      const v = await voice.embed(await decodeAudio(path.join(__dirname, '..', 'fixtures', 'voice', file)));
      expect(v.windows.length).toBeGreaterThan(0);
      for (const w of v.windows) expect(degeneracy(w.embedding, set)).toBeNull();
    }
  });

  test('the gate rejects a detected "face" that is noise, and a pulsing tone taken for speech (E_QUALITY degenerate_template)', async () => {
    // A detector that finds a face anywhere: the noise crop is sharp, large and frontal, so only the junk check stops it.
    const anywhere = { id: 'anywhere', detect: async (img: RgbImage): Promise<FaceDetection[]> => [{ box: { x: 0, y: 0, w: img.width, h: img.height }, landmarks: ARCFACE_112.map(([x, y]) => [x * 2, y * 2]) as FaceDetection['landmarks'], score: 0.99 }] };
    const lenient = await FaceAnalyzer.create({ detector: anywhere });
    const img = noiseImage(224, 224);
    const png = f('noise224.png');
    await sharp(Buffer.from(img.data), { raw: { width: 224, height: 224, channels: 3 } }).png().toFile(png);
    // The speech detector takes the pulsing tone for 9.8 s of speech: only the junk check stops it.
    const am = junk.am();
    const v = await voice.embed(await decodeAudio(am));
    expect(v.speechSeconds).toBeGreaterThan(3);
    const r = await gateReferences([png, am], { face: lenient, voice: async () => voice });
    expect(r.accepted).toEqual([]);
    expect(r.rejected.map((x) => [path.basename(x.file), x.code])).toEqual([['noise224.png', 'E_QUALITY'], ['am.wav', 'E_QUALITY']]);
    for (const x of r.rejected) expect(x.reason).toMatch(/degenerate template/);
  });

  describe('Guard API and CLI', () => {
    const db = f('store.db');
    const env = { ...process.env, LIKENESS_HOME: f('home'), LIKENESS_KEY: '' };
    let guard: Guard;
    let realId: string;
    let poisonId: string;
    const files: Record<string, string> = {};
    beforeAll(async () => {
      for (const [k, make] of Object.entries(junk)) files[k] = await make();
      guard = await Guard.open({ db, key: null });
      const r = await guard.enroll({ name: 'Real', noConsent: true }, [sample!, voiceRef], { largest: true });
      expect(r.accepted.map((a) => a.modality).sort()).toEqual(['face', 'voice']);
      realId = r.performerId!;
      // A store poisoned before these checks: a performer whose only voice template is what the model makes of a tone.
      const poisonVec = await voice.embedSamples(gen(48000, (i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
      const s = await openStore({ location: db, key: null });
      const p = await s.upsertPerformer({ name: 'Poison', consent: null });
      await s.addEnrollment(p.id, [{ sha256: fakeHash('poison'), modality: 'voice', quality: {} }], [
        { modelId: voice.modelId, modality: 'voice', kind: 'item', vector: poisonVec, referenceHash: fakeHash('poison'), quality: 1 },
        { modelId: voice.modelId, modality: 'voice', kind: 'centroid', vector: poisonVec, referenceHash: null, quality: 1 },
      ]);
      await s.close();
      poisonId = p.id;
    });
    afterAll(() => guard?.close());

    test('Guard.enroll: no junk reference is accepted and no performer is created', async () => {
      const r = await guard.enroll({ name: 'Junk', noConsent: true }, Object.values(files));
      expect(r.performerId).toBeNull();
      expect(r.accepted).toEqual([]);
      const codes = Object.fromEntries(r.rejected.map((x) => [path.basename(x.file), x.code]));
      expect(codes).toMatchObject({ 'nan.wav': 'E_DECODE', 'huge.wav': 'E_DECODE', 'flat.png': 'E_NO_FACE', 'noise.png': 'E_NO_FACE', 'am.wav': 'E_QUALITY' });
      for (const k of ['tone.wav', 'noise.wav', 'silence.wav']) expect(['E_NO_SPEECH', 'E_QUALITY']).toContain(codes[k]);
      expect((await guard.listPerformers()).map((p) => p.name).sort()).toEqual(['Poison', 'Real']);
      // Junk added to an existing performer is refused the same way, and nothing is added.
      const before = (await guard.performer(realId)).references.length;
      expect((await guard.enroll({ id: realId }, [files.am!, files.tone!, files.nan!, files.noisePng!])).accepted).toEqual([]);
      expect((await guard.performer(realId)).references).toHaveLength(before);
    });

    test('Guard.identify / verify / scan: junk audio matches nobody, not even the poisoned junk template', async () => {
      for (const k of ['am', 'tone', 'noise', 'silence'] as const) {
        const m = await guard.identify(files[k]!);
        for (const v of m.voices) expect(v.candidates).toEqual([]);
        const v1 = await guard.verify(poisonId, files[k]!);
        for (const v of v1.voices) expect(v.candidates).toEqual([]);
        const s = await guard.scan(files[k]!);
        expect('verdicts' in s ? s.verdicts : []).toEqual([]);
        if (k === 'am' && 'warnings' in s) expect(s.warnings.join('\n')).toMatch(/voice segment\(s\) looked like junk/);
      }
      // The real reference still matches its performer.
      const ok = await guard.identify(voiceRef);
      expect(ok.voices.some((v) => v.candidates[0]?.performerId === realId && v.candidates[0].decision === 'match')).toBe(true);
    });

    test('CLI: enroll refuses junk; identify and scan report no match for junk', () => {
      const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args, '--db', db], { encoding: 'utf8', env });
      const e = run('enroll', '--name', 'Junk CLI', '--no-consent', files.am!, files.tone!, files.noise!, files.nan!, files.flatPng!);
      const enrolled = JSON.parse(e.stdout) as { performerId: string | null; accepted: unknown[]; rejected: { file: string; code: string; reason: string }[] };
      expect(enrolled).toMatchObject({ performerId: null, accepted: [] });
      expect(enrolled.rejected.find((x) => x.file === files.am)).toMatchObject({ code: 'E_QUALITY', reason: expect.stringMatching(/degenerate template/) });
      const id = run('identify', files.am!, files.tone!, files.noise!);
      const out = JSON.parse(id.stdout) as { results: { voices?: { candidates: unknown[] }[] }[] };
      for (const r of out.results) for (const v of r.voices ?? []) expect(v.candidates).toEqual([]);
      const sc = run('scan', files.am!, files.tone!, files.noise!, files.silence!);
      const rep = JSON.parse(sc.stdout) as { results: { verdicts?: unknown[] }[] };
      expect(rep.results).toHaveLength(4);
      for (const r of rep.results) expect(r.verdicts ?? []).toEqual([]);
    });
  });
});
