import { createHash } from 'crypto';
import { unbundleFingerprints } from '../../src/match/origins';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { REFERENCE_CONTEXT_SIZE, REFERENCE_VIDEO_FPS, analyseReferenceVideo } from '../../src/enroll/video-reference';
import { FaceAnalyzer } from '../../src/face/analyzer';
import { decodeAudio } from '../../src/media/audio';
import { VoiceEmbedder } from '../../src/voice/embed';
import { sampleImage } from '../helpers/images';
import { hasEspeak, makeSpeechWav, makeTmpDir, truncateFile } from '../helpers/media';
import { describeIf } from '../helpers/requires';
import { composeVideo, cutFace } from '../helpers/scan-media';
import { jsonCli } from '../helpers/cli-json';
import { writeWav16k } from '../helpers/turn-ads';

// Reference video through the CLI (issue 16 item 2), on media the project composes itself: faces cut from the MIT
// face-api sample photos laid over a grey canvas at known times (ffmpeg), soundtracks of two espeak-ng voices.
//   main.mp4: A on screen the whole time, B for 2 s; voice M (en-us+m3) ~85% of the speech, voice F (en+f4) the rest.
//   equal.mp4: A and C side by side the whole time, C's face larger; M and F alternate, half each.

const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-venroll-');
const f = (n: string): string => path.join(tmp.dir, n);
const db = f('store.db');
const env = { ...process.env, LIKENESS_HOME: f('home'), LIKENESS_KEY: 'ef'.repeat(32) };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const cli = jsonCli(db, env);

const A_BOX = { x: 1459, y: 218, w: 226, h: 220 };
const B_BOX = { x: 825, y: 422, w: 211, h: 225 };
const C_BOX = { x: 1445, y: 156, w: 204, h: 238 };
const M = 'en-us+m3';
const F = 'en+f4';

/** 16 kHz speech of `parts` (voice, text) one after the other with `gap` s of silence between them; seconds per voice. */
async function soundtrack(dst: string, parts: [string, string][], gap = 0.6): Promise<{ seconds: number; perVoice: Record<string, number>; spans: { start: number; end: number }[] }> {
  const pieces: Float32Array[] = [];
  const perVoice: Record<string, number> = {};
  const spans: { start: number; end: number }[] = [];
  let t = 0;
  for (const [i, [voice, text]] of parts.entries()) {
    const x = (await decodeAudio(makeSpeechWav(text, f(`part-${path.basename(dst)}-${i}.wav`), { voice }))).samples;
    pieces.push(x, new Float32Array(Math.round(gap * 16000)));
    perVoice[voice] = (perVoice[voice] ?? 0) + x.length / 16000;
    spans.push({ start: t, end: t + x.length / 16000 });
    t += x.length / 16000 + Math.round(gap * 16000) / 16000;
  }
  const all = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of pieces) (all.set(p, o), (o += p.length));
  writeWav16k(dst, all);
  return { seconds: all.length / 16000, perVoice, spans };
}

const speech = hasEspeak();
let mainId = '';
let mainParts: { start: number; end: number }[] = [];
let eqId = '';

describeIf(speech, 'espeak-ng')('reference video enrollment (CLI)', () => {
  beforeAll(async () => {
    await cutFace(sampleImage(1), A_BOX, 0.4, 170, f('a.png'));
    await cutFace(sampleImage(1), B_BOX, 0.4, 170, f('b.png'));
    await cutFace(sampleImage(2), C_BOX, 0.4, 240, f('c.png'));
    const main = await soundtrack(f('main.wav'), [
      [M, 'The morning train was late again, so everyone waited on the cold platform.'],
      [F, 'Thanks, that sounds fine to me.'],
      [M, 'She opened the old wooden box and found a stack of letters tied with string.'],
      [M, 'Our team finished the project two days before the deadline this spring.'],
    ]);
    const equal = await soundtrack(f('equal.wav'), [
      [M, 'The morning train was late again, so everyone waited on the cold platform.'],
      [F, 'She opened the old wooden box and found a stack of letters tied with string.'],
      [M, 'Our team finished the project two days before the deadline this spring.'],
      [F, 'Please remember to water the plants while I am away on holiday next week.'],
    ]);
    mainParts = main.spans;
    console.log(`composed speech: main ${JSON.stringify(main.perVoice)}; equal ${JSON.stringify(equal.perVoice)}`);
    composeVideo(f('main.mp4'), [
      { image: f('a.png'), start: 0, end: main.seconds, x: 100, y: 90 },
      { image: f('b.png'), start: 3, end: 5, x: 400, y: 90 },
    ], { width: 640, height: 360, seconds: main.seconds, audio: { file: f('main.wav'), at: 0 } });
    composeVideo(f('equal.mp4'), [
      { image: f('a.png'), start: 0, end: equal.seconds, x: 60, y: 100 },
      { image: f('c.png'), start: 0, end: equal.seconds, x: 340, y: 60 },
    ], { width: 640, height: 360, seconds: equal.seconds, audio: { file: f('equal.wav'), at: 0 } });
    makeSpeechWav('A new recording of the first voice, talking about weather and rivers and music.', f('m-probe.wav'), { voice: M });
    makeSpeechWav('The second voice records a reference of its own, reading about bridges and old maps for a while.', f('f-ref.wav'), { voice: F });
    makeSpeechWav('Another sentence from the second voice, about gardens, kites and a summer market.', f('f-probe.wav'), { voice: F });
    await sharp(sampleImage(2)).extract({ left: 1250, top: 0, width: 600, height: 560 }).jpeg({ quality: 90 }).toFile(f('c-photo.jpg'));
    truncateFile(f('main.mp4'), f('cut.mp4'), 0.5);
    fs.writeFileSync(f('junk.mp4'), Buffer.from('ftypisom this is not a video at all'.repeat(40)));
  });

  afterAll(() => tmp.cleanup());

  test('the person on screen most is enrolled, with the voice that holds most of the speech', () => {
    const r = cli('enroll', '--name', 'Main', '--no-consent', f('main.mp4'));
    expect(r.status).toBe(0);
    mainId = r.json.performerId;
    expect(r.json.rejected).toEqual([]);
    const byModality = Object.fromEntries(r.json.accepted.map((a: Json) => [a.modality, a]));
    expect(Object.keys(byModality).sort()).toEqual(['face', 'voice']);
    const face = byModality.face.quality;
    expect(face).toMatchObject({ kind: 'video', chosenBy: 'frames', people: 2, voice: 'enrolled' });
    // A is in every sampled frame (4 per second), B in 2 s of them; the templates spread over A's time on screen.
    expect(face.frames).toBeGreaterThan(40);
    expect(face.faces.length).toBeGreaterThanOrEqual(2);
    expect(face.faces[face.faces.length - 1].time - face.faces[0].time).toBeGreaterThan(5);
    expect(byModality.voice.quality.share).toBeGreaterThanOrEqual(0.7);
    expect(byModality.voice.quality.speakers).toBeGreaterThanOrEqual(2);
    expect(r.json.notes).toEqual([]);
    // One reference, named by the video file's sha256, with a thumbnail of the enrolled face.
    const show = cli('performers', 'show', mainId);
    expect(show.json.references).toHaveLength(1);
    const sha = createHash('sha256').update(fs.readFileSync(f('main.mp4'))).digest('hex');
    expect(show.json.references[0].sha256).toBe(sha);
    // Its artefacts: the thumbnail, and one fingerprint holding the face hashes over time and the soundtrack's.
    const exported = cli('performers', 'export', mainId, '--vectors').json.artifacts as { kind: string; referenceHash: string; data: string }[];
    expect(exported.map((a) => [a.kind, a.referenceHash])).toEqual([['thumbnail', sha], ['fingerprint', sha]]);
    const prints = unbundleFingerprints(Buffer.from(exported[1]!.data, 'base64'));
    expect(prints.map((p) => p.kind)).toEqual(['visual', 'audio']);
    const visual = prints[0]!.kind === 'visual' ? prints[0]! : null;
    expect(visual!.frames.length).toBeGreaterThanOrEqual(60); // A's sampled frames at 4 fps
  });

  test('analyseReferenceVideo hands out the chosen person\'s sampled frames and the enrolled speaker\'s audio', async () => {
    const face = await FaceAnalyzer.create();
    const ve = await VoiceEmbedder.create();
    const ref = await analyseReferenceVideo(f('main.mp4'), { face, voice: async () => ve });
    console.log(`main.mp4: people ${JSON.stringify(ref.people.map((p) => ({ frames: p.frames, meanArea: Math.round(p.meanArea) })))}; ${ref.frames.filter((x) => x.face).length} of ${ref.frames.length} frames embedded; voice ${ref.voice.status}, share ${ref.voice.share} of ${ref.voice.speechSeconds} s, ${ref.voice.speakers} speakers`);
    expect(ref.faceProblem).toBeNull();
    expect(ref.chosen).toBe(0);
    expect(ref.people).toHaveLength(2);
    expect(ref.people[1]!.frames).toBeLessThanOrEqual(2 * REFERENCE_VIDEO_FPS + 1);
    // A's frames: every sampled instant, in time order, 1/fps apart; landmarks inside the context crop.
    const times = ref.frames.map((x) => x.time);
    expect(times.length).toBe(ref.people[0]!.frames);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(1 / REFERENCE_VIDEO_FPS, 5);
    for (const x of ref.frames) {
      expect(x.detection.box.x).toBeLessThan(320); // A is on the left, B on the right
      expect(Math.max(x.context.width, x.context.height)).toBeLessThanOrEqual(REFERENCE_CONTEXT_SIZE);
      for (const [px, py] of x.detection.landmarks) {
        expect(px).toBeGreaterThanOrEqual(x.contextBox.x);
        expect(px).toBeLessThanOrEqual(x.contextBox.x + x.contextBox.w);
        expect(py).toBeGreaterThanOrEqual(x.contextBox.y);
        expect(py).toBeLessThanOrEqual(x.contextBox.y + x.contextBox.h);
      }
      expect(x.frameSize).toEqual({ width: 640, height: 360 });
    }
    expect(ref.frames.some((x) => x.face !== null)).toBe(true);
    // The enrolled speaker's turns with their PCM: one sample per 1/16000 s of each turn's speech.
    expect(ref.voice.status).toBe('enrolled');
    expect(ref.voice.turns.length).toBeGreaterThan(0);
    for (const t of ref.voice.turns) {
      const seconds = t.speech.reduce((s, g) => s + g.end - g.start, 0);
      expect(Math.abs(t.pcm.length - seconds * 16000)).toBeLessThanOrEqual(t.speech.length);
    }
    // Its turns are M's: no turn overlaps F's sentence (the second part of the soundtrack).
    const fStart = mainParts[1]!.start;
    const fEnd = mainParts[1]!.end;
    for (const t of ref.voice.turns) expect(t.end <= fStart + 0.3 || t.start >= fEnd - 0.3).toBe(true);
  });

  test('identify: A (not B) is the enrolled face; the main voice (not the other) is the enrolled voice', () => {
    const r = cli('identify', sampleImage(1), f('m-probe.wav'), f('f-probe.wav'), '--top', '1');
    expect(r.status).toBe(0);
    const [photo, mProbe, fProbe] = r.json.results;
    const mainFaces = photo.faces.filter((x: Json) => x.candidates[0]?.performerId === mainId && x.candidates[0].decision === 'match');
    expect(mainFaces).toHaveLength(1);
    expect(mainFaces[0].box.x).toBeGreaterThan(1300); // A's box in sample1, B is at x 825
    const top = (m: Json): Json[] => m.voices.map((v: Json) => v.candidates[0]).filter(Boolean);
    expect(top(mProbe).some((c: Json) => c.performerId === mainId && c.decision === 'match')).toBe(true);
    expect(top(fProbe).some((c: Json) => c.performerId === mainId && c.decision === 'match')).toBe(false);
  });

  test('two people on screen equally: E_QUALITY saying what to do; nothing is created', () => {
    const r = cli('enroll', '--name', 'Equal', '--no-consent', f('equal.mp4'));
    expect(r.status).toBe(2);
    expect(r.json.performerId).toBeNull();
    console.log(`equal.mp4: ${r.json.rejected[0]?.reason}`);
    expect(r.json.rejected).toEqual([{ file: f('equal.mp4'), code: 'E_QUALITY', reason: expect.stringMatching(/two people on screen about equally.*--largest/) }]);
    expect(r.stderr).toMatch(/rejected: .*equal\.mp4: E_QUALITY/);
  });

  test('--largest takes the larger face (C); the 50/50 voice is skipped with a note, not an error', () => {
    const r = cli('enroll', '--name', 'Equal', '--no-consent', '--largest', f('equal.mp4'));
    expect(r.status).toBe(0);
    eqId = r.json.performerId;
    expect(r.json.accepted.map((a: Json) => a.modality)).toEqual(['face']);
    console.log(`equal.mp4 --largest: ${JSON.stringify(r.json.accepted[0].quality)}; ${r.json.notes[0]?.note}`);
    expect(r.json.accepted[0].quality).toMatchObject({ chosenBy: 'largest', people: 2, voice: 'skipped' });
    expect(r.json.notes).toEqual([{ file: f('equal.mp4'), note: expect.stringMatching(/^voice not enrolled: 2 speakers and none holds 70% of the speech/) }]);
    expect(r.stderr).toMatch(/note: .*equal\.mp4: voice not enrolled/);
    const id = cli('identify', sampleImage(2), '--top', '1');
    const hits = id.json.results[0].faces.filter((x: Json) => x.candidates[0]?.performerId === eqId && x.candidates[0].decision === 'match');
    expect(hits).toHaveLength(1);
    expect(hits[0].box.x).toBeGreaterThan(1350); // C's box in sample2
  });

  test('performers add-reference: adds a recording in one transaction, reports the video already enrolled; identify then finds the voice', () => {
    const before = cli('identify', f('f-probe.wav'), '--top', '1');
    expect(before.json.results[0].voices.some((v: Json) => v.candidates[0]?.performerId === eqId && v.candidates[0].decision === 'match')).toBe(false);
    const r = cli('performers', 'add-reference', eqId, f('f-ref.wav'), f('equal.mp4'), '--largest');
    expect(r.status).toBe(0);
    expect(r.json.performerId).toBe(eqId);
    expect(r.json.accepted).toEqual([
      expect.objectContaining({ file: f('f-ref.wav'), modality: 'voice' }),
      expect.objectContaining({ file: f('equal.mp4'), modality: 'face', duplicate: true }),
    ]);
    expect(r.json.accepted[0].duplicate).toBeUndefined();
    expect(r.stderr).toMatch(/equal\.mp4: already enrolled/);
    expect(cli('performers', 'show', eqId).json.references).toHaveLength(2);
    const after = cli('identify', f('f-probe.wav'), '--top', '1');
    expect(after.json.results[0].voices.some((v: Json) => v.candidates[0]?.performerId === eqId && v.candidates[0].decision === 'match')).toBe(true);
  });

  test('add-reference to an unknown performer is E_NOT_FOUND; --help lists its options', () => {
    const r = cli('performers', 'add-reference', '00000000-0000-0000-0000-000000000000', f('f-ref.wav'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^likeness: E_NOT_FOUND: /m);
    const h = spawnSync(process.execPath, [bin, 'performers', 'add-reference', '--help'], { encoding: 'utf8', env });
    expect(h.status).toBe(0);
    for (const o of ['--largest', '--db', '--from', '--max-pixels']) expect(h.stdout).toContain(o);
  });

  test('malformed video references are rejected with a typed code, the rest still enrolled', () => {
    const r = cli('performers', 'add-reference', mainId, f('cut.mp4'), f('junk.mp4'), f('m-probe.wav'));
    expect(r.status).toBe(2);
    const codes = Object.fromEntries(r.json.rejected.map((x: Json) => [path.basename(x.file), x.code]));
    expect(Object.keys(codes).sort()).toEqual(['cut.mp4', 'junk.mp4']);
    for (const c of Object.values(codes)) expect(['E_DECODE', 'E_UNSUPPORTED']).toContain(c);
    expect(r.json.accepted.map((a: Json) => path.basename(a.file))).toEqual(['m-probe.wav']);
  });

  test('add-reference checks consent as enroll does: after a withdrawal nothing more is enrolled (E_CONSENT)', () => {
    const e = cli('enroll', '--name', 'Consenting', '--consent-by', 'Consenting', f('a.png'));
    expect(e.status).toBe(0);
    const id = e.json.performerId;
    expect(cli('performers', 'consent', id, '--withdraw').status).toBe(0);
    const r = cli('performers', 'add-reference', id, f('m-probe.wav'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^likeness: E_CONSENT: .*withdrawn/m);
    expect(cli('performers', 'show', id).json.references).toHaveLength(1);
  });

  test('the same new file given twice: the first is enrolled, the second reported duplicate', () => {
    const r = cli('performers', 'add-reference', eqId, '--largest', f('c-photo.jpg'), f('c-photo.jpg'));
    expect(r.json.rejected).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.json.accepted).toEqual([
      expect.objectContaining({ file: f('c-photo.jpg'), modality: 'face' }),
      expect.objectContaining({ file: f('c-photo.jpg'), modality: 'face', duplicate: true }),
    ]);
    expect(r.json.accepted[0].duplicate).toBeUndefined();
  });
});
