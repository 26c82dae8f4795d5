import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { makeSpeechWav, makeTmpDir } from './helpers/media';
import { sampleImage } from './helpers/images';
import { jsonCli } from './helpers/cli-json';

const bin = path.join(__dirname, '..', 'bin', 'likeness.js');
const tmp = makeTmpDir('lg-cli-reg-');
const db = path.join(tmp.dir, 'store.db');
const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home'), LIKENESS_KEY: 'ab'.repeat(32) };

const cli = jsonCli(db, env);

const files = {
  ref: path.join(tmp.dir, 'ref.jpg'),
  text: path.join(tmp.dir, 'cv.jpg'),
  voiceRef: path.join(tmp.dir, 'voice-ref.wav'),
  voiceProbe: path.join(tmp.dir, 'voice-probe.wav'),
  short: path.join(tmp.dir, 'short.wav'),
};
let performerId = '';

beforeAll(async () => {
  // Reference: the right-hand person of sample1 cut out on their own (the group photo is then the "scanned" media).
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(files.ref);
  fs.writeFileSync(files.text, 'not a photo');
  makeSpeechWav('The quick brown fox jumps over the lazy dog while the performer reads a long consent statement aloud for the record.', files.voiceRef, { voice: 'en-us+m3' });
  makeSpeechWav('A second recording of the same synthetic voice, saying different words about weather and trains and music.', files.voiceProbe, { voice: 'en-us+m3' });
  makeSpeechWav('Hi.', files.short, { voice: 'en-us+m3' });
});

afterAll(() => tmp.cleanup());

test('enrollment without consent is refused unless --no-consent is explicit', () => {
  const r = cli('enroll', '--name', 'Nobody', files.ref);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/E_CONSENT/);
});

test('enroll: accepted and rejected references are reported per file; the performer is created', () => {
  const r = cli('enroll', '--name', 'Right <b>Person</b>', '--consent-by', 'Right Person', '--consent-scope', 'face+voice', files.ref, files.text, files.voiceRef, files.short);
  expect(r.status).toBe(2);
  performerId = r.json.performerId;
  expect(performerId).toMatch(/[0-9a-f-]{36}/);
  expect(r.json.accepted.map((a: { modality: string }) => a.modality).sort()).toEqual(['face', 'voice']);
  const rej = Object.fromEntries(r.json.rejected.map((x: { file: string; code: string }) => [path.basename(x.file), x.code]));
  expect(rej).toEqual({ 'cv.jpg': 'E_UNSUPPORTED', 'short.wav': 'E_NO_SPEECH' });
});

test('the same media enrolled again is recognised by hash and not duplicated', () => {
  const r = cli('enroll', '--id', performerId, files.ref);
  expect(r.status).toBe(0);
  expect(r.json.accepted[0].duplicate).toBe(true);
  const show = cli('performers', 'show', performerId);
  expect(show.json.references).toHaveLength(2);
});

test('identify finds the enrolled face in the group photo and no one else', () => {
  const r = cli('identify', sampleImage(1), '--top', '1');
  expect(r.status).toBe(0);
  const faces = r.json.results[0].faces as { box: { x: number }; candidates: { performerId: string; decision: string }[] }[];
  const matched = faces.filter((f) => f.candidates[0]?.decision === 'match');
  expect(matched).toHaveLength(1);
  expect(matched[0]!.box.x).toBeGreaterThan(1300);
  expect(matched[0]!.candidates[0]!.performerId).toBe(performerId);
});

test('verify and identify a voice: the enrolled synthetic voice is the top candidate', () => {
  const r = cli('verify', '--performer', performerId, files.voiceProbe);
  expect(r.status).toBe(0);
  const voices = r.json.results[0].voices as { candidates: { performerId: string; score: number }[] }[];
  expect(voices.length).toBeGreaterThan(0);
  expect(voices[0]!.candidates[0]!.performerId).toBe(performerId);
  // The shipped neural model is the default: no baseline warning.
  expect(r.stderr).not.toMatch(/baseline/);
});

test('--model chooses the voice model: the baseline is flagged, and the voice enrolled under the default must be re-enrolled for it', () => {
  const r = cli('identify', files.voiceProbe, '--model', 'baseline-mfcc-stats');
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/baseline.*chosen explicitly/);
  expect(r.stderr).toContain(`(${performerId}): voice enrolled only with campplus-zh-en`);
  const d = cli('doctor', '--model', 'baseline-mfcc-stats');
  expect(d.stderr).toContain('re-enroll the voice');
  expect(cli('identify', files.voiceProbe, '--model', 'no-such-model').stderr).toMatch(/E_MODEL/);
});

test('bad media in identify is an entry error (exit 2), an unknown performer fails verify (exit 1)', () => {
  const r = cli('identify', files.text, sampleImage(2));
  expect(r.status).toBe(2);
  expect(r.json.results[0].error.code).toBe('E_UNSUPPORTED');
  expect(r.json.results[1].faces.length).toBeGreaterThan(0);
  const v = cli('verify', '--performer', '00000000-0000-0000-0000-000000000000', sampleImage(1));
  expect(v.status).toBe(1);
  expect(v.stderr).toMatch(/E_NOT_FOUND/);
});

test('withdrawn consent suppresses matches; export and delete work', () => {
  expect(cli('performers', 'consent', performerId, '--withdraw').status).toBe(0);
  const r = cli('identify', sampleImage(1), '--top', '1');
  for (const f of r.json.results[0].faces) for (const c of f.candidates) expect(c.performerId).not.toBe(performerId);
  const ex = cli('performers', 'export', performerId);
  expect(ex.json.performer.consent.withdrawnAt).toBeDefined();
  expect(JSON.stringify(ex.json)).not.toMatch(/"vector"/);
  expect(cli('performers', 'delete', performerId).status).toBe(0);
  expect(cli('performers', 'list').json.performers).toEqual([]);
});

test('rekey rotates every template to the new key; the old key no longer reads them', () => {
  const db2 = path.join(tmp.dir, 'rekey.db');
  const k1 = '11'.repeat(32), k2 = '22'.repeat(32);
  const run = (extra: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args, '--db', db2], { encoding: 'utf8', env: { ...env, LIKENESS_KEY: k1, ...extra }, timeout: 300_000 });
  expect(run({}, 'enroll', '--name', 'K', '--no-consent', files.ref).status).toBe(0);
  const r = run({ LIKENESS_NEW_KEY: k2 }, 'rekey');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout).reencrypted).toBeGreaterThanOrEqual(2);
  const ok = run({ LIKENESS_KEY: k2 }, 'identify', sampleImage(1), '--top', '1');
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/"match"/);
  const old = run({ LIKENESS_KEY: k1 }, 'identify', sampleImage(1));
  expect(old.status).toBe(1);
  expect(old.stderr).toMatch(/E_CRYPTO/);
});
