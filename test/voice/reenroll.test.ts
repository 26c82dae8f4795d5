// Stores enrolled before the neural default hold baseline voice templates only: doctor, identify/verify and scan say,
// per performer, that re-enrolling the voice fixes it; performers enrolled under the current model are not named.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guard } from '../../src/guard';
import { openStore } from '../../src/store/open';
import { DEFAULT_VOICE_MODEL } from '../../src/voice/embed';
import { fakeHash, rng, unitVector } from '../helpers/vectors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-reenroll-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const db = path.join(dir, 'r.db');
const wav = path.resolve(__dirname, '..', 'fixtures', 'voice', 'espeak-m3.wav');
let oldId = '';
let newId = '';

beforeAll(async () => {
  const s = await openStore({ location: db, key: null });
  const r = rng(3);
  const old = await s.upsertPerformer({ name: 'Old Voice', consent: null });
  const cur = await s.upsertPerformer({ name: 'New Voice', consent: null });
  oldId = old.id;
  newId = cur.id;
  await s.addEnrollment(old.id, [{ sha256: fakeHash('o'), modality: 'voice', quality: null }], [
    { modelId: 'baseline-mfcc-stats', modality: 'voice', kind: 'item', vector: unitVector(r, 72), referenceHash: fakeHash('o'), quality: 1 },
  ]);
  await s.addEnrollment(cur.id, [{ sha256: fakeHash('n'), modality: 'voice', quality: null }], [
    { modelId: 'baseline-mfcc-stats', modality: 'voice', kind: 'item', vector: unitVector(r, 72), referenceHash: fakeHash('n'), quality: 1 },
    { modelId: DEFAULT_VOICE_MODEL, modality: 'voice', kind: 'item', vector: unitVector(r, 192), referenceHash: fakeHash('n'), quality: 1 },
  ]);
  await s.close();
});

test('doctor names the performer whose voice is enrolled only under the baseline', async () => {
  const d = await Guard.doctor({ db, key: null });
  const w = d.warnings.filter((x) => x.includes('re-enroll the voice'));
  expect(w).toEqual([expect.stringContaining(`Old Voice (${oldId})`)]);
  expect(w[0]).toContain('baseline-mfcc-stats');
  expect(w[0]).toContain(DEFAULT_VOICE_MODEL);
  expect(d.ok).toBe(false);
  // Under the baseline itself nobody is stale.
  const b = await Guard.doctor({ db, key: null, voiceModel: 'baseline-mfcc-stats' });
  expect(b.warnings.filter((x) => x.includes('re-enroll the voice'))).toEqual([]);
});

test('identify, verify and scan of audio carry the same per-performer warning', async () => {
  const g = await Guard.open({ db, key: null, facePreset: 'fast' });
  try {
    const id = await g.identify(wav);
    expect(id.warnings.filter((x) => x.includes('re-enroll the voice'))).toEqual([expect.stringContaining(oldId)]);
    const v = await g.verify(newId, wav);
    expect(v.warnings.filter((x) => x.includes('re-enroll the voice'))).toEqual([]);
    const s = await g.scan(wav);
    expect('warnings' in s && s.warnings.filter((x) => x.includes('re-enroll the voice'))).toEqual([expect.stringContaining(oldId)]);
  } finally {
    await g.close();
  }
});
