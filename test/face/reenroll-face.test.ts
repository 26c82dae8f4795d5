// Stores enrolled before the int8 face embedder became the default hold float32 face templates only: scanning cannot
// match those faces. Doctor and scan say how many performers are affected, name them, and say re-enrolling fixes it;
// performers with a template of the model in use are not named.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guard } from '../../src/guard';
import { FACEPLUGIN_EMBEDDERS } from '../../src/face/faceplugin';
import { ffmpegPath } from '../../src/media/ffmpeg';
import { openStore } from '../../src/store/open';
import { fakeHash, rng, unitVector } from '../helpers/vectors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-reenroll-face-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const db = path.join(dir, 'r.db');
const F32 = FACEPLUGIN_EMBEDDERS.float32;
const INT8 = FACEPLUGIN_EMBEDDERS.int8;
let oldId = '';
let newId = '';

const stale = (warnings: readonly string[]): string[] => warnings.filter((w) => w.includes('face templates only for'));

beforeAll(async () => {
  const s = await openStore({ location: db, key: null });
  const r = rng(5);
  const old = await s.upsertPerformer({ name: 'Old Face', consent: null });
  const cur = await s.upsertPerformer({ name: 'New Face', consent: null });
  oldId = old.id;
  newId = cur.id;
  await s.addEnrollment(old.id, [{ sha256: fakeHash('o'), modality: 'face', quality: null }], [
    { modelId: F32, modality: 'face', kind: 'item', vector: unitVector(r, 512), referenceHash: fakeHash('o'), quality: 1 },
  ]);
  await s.addEnrollment(cur.id, [{ sha256: fakeHash('n'), modality: 'face', quality: null }], [
    { modelId: F32, modality: 'face', kind: 'item', vector: unitVector(r, 512), referenceHash: fakeHash('n'), quality: 1 },
    { modelId: INT8, modality: 'face', kind: 'item', vector: unitVector(r, 512), referenceHash: fakeHash('n'), quality: 1 },
  ]);
  await s.close();
});

test('doctor counts and names the performers whose face is enrolled only under another face model', async () => {
  const d = await Guard.doctor({ db, key: null });
  const w = stale(d.warnings);
  expect(w).toHaveLength(1);
  expect(w[0]).toMatch(/^1 performer has face templates only for faceplugin-mfn512, /);
  expect(w[0]).toContain(`Old Face (${oldId})`);
  expect(w[0]).not.toContain(newId);
  expect(w[0]).toContain(INT8);
  expect(w[0]).toContain(`likeness enroll --id ${oldId}`);
  expect(d.ok).toBe(false);
});

test('a scan of an image carries the same warning; once the face is re-enrolled under the model in use it goes', async () => {
  const img = path.join(dir, 'grey.jpg');
  execFileSync(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:s=96x96', '-frames:v', '1', '-y', img]);
  const g = await Guard.open({ db, key: null, facePreset: 'fast' });
  try {
    const s = await g.scan(img);
    expect('warnings' in s && stale(s.warnings)).toEqual([expect.stringContaining(`Old Face (${oldId})`)]);
    const s2 = await openStore({ location: db, key: null });
    await s2.addEnrollment(oldId, [{ sha256: fakeHash('o2'), modality: 'face', quality: null }], [
      { modelId: INT8, modality: 'face', kind: 'item', vector: unitVector(rng(9), 512), referenceHash: fakeHash('o2'), quality: 1 },
    ]);
    await s2.close();
    const again = await g.scan(img);
    expect('warnings' in again && stale(again.warnings)).toEqual([]);
  } finally {
    await g.close();
  }
  expect(stale((await Guard.doctor({ db, key: null })).warnings)).toEqual([]);
});
