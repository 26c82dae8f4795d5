import * as path from 'path';
import sharp from 'sharp';
import { FACEPLUGIN_EMBEDDERS } from '../../src/face/faceplugin';
import { Guard } from '../../src/guard';
import { isScanFailure } from '../../src/report/schema';
import { makeTmpDir } from '../helpers/media';
import { openStore } from '../../src/store/open';
import { fakeHash, rng, unitVector } from '../helpers/vectors';

// Guard.scanMany: an input that throws something other than a LikenessError (here the face pipeline fails with a
// TypeError on one image, as a bug would) is an E_INTERNAL entry naming the input; the inputs after it are scanned.

const tmp = makeTmpDir('lg-isolation-');
afterAll(() => tmp.cleanup());

test('one input failing with a TypeError is E_INTERNAL on its entry and the batch goes on', async () => {
  const imgs: string[] = [];
  for (let i = 0; i < 3; i++) {
    const f = path.join(tmp.dir, `img-${i}.png`);
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 60 * i, g: 120, b: 200 } } }).png().toFile(f);
    imgs.push(f);
  }
  const db = path.join(tmp.dir, 'store.db');
  // Faces are only looked for when a face is enrolled.
  const s = await openStore({ location: db, key: null });
  const p = await s.upsertPerformer({ name: 'Someone', consent: null });
  const v = unitVector(rng(1), 512);
  await s.addEnrollment(p.id, [{ sha256: fakeHash('x'), modality: 'face', quality: {} }], [
    { modelId: FACEPLUGIN_EMBEDDERS.int8, modality: 'face', kind: 'item', vector: v, referenceHash: fakeHash('x'), quality: 1 },
    { modelId: FACEPLUGIN_EMBEDDERS.int8, modality: 'face', kind: 'centroid', vector: v, referenceHash: null, quality: 1 },
  ]);
  await s.close();
  const guard = await Guard.open({ db, key: null });
  // The templates above must be of the face model in use, or faces are not scanned at all.
  expect(guard.faces.modelId).toBe(FACEPLUGIN_EMBEDDERS.int8);
  // The second image's colour makes the face pipeline throw a plain TypeError (a stand-in for a bug).
  const analyzeRgb = guard.faces.analyzeRgb.bind(guard.faces);
  guard.faces.analyzeRgb = async (img) => {
    if (img.data[0] === 60) throw new TypeError('face pipeline exploded');
    return analyzeRgb(img);
  };
  try {
    const results = new Map<number, unknown>();
    for await (const e of guard.scanMany(imgs, { concurrency: 2 })) if (e.type === 'result') results.set(e.index, e.result);
    expect(results.size).toBe(3);
    const failed = results.get(1)!;
    expect(isScanFailure(failed as never)).toBe(true);
    expect(failed).toMatchObject({ media: { path: imgs[1] }, error: { code: 'E_INTERNAL', message: expect.stringMatching(/face pipeline exploded/) } });
    for (const i of [0, 2]) expect(isScanFailure(results.get(i) as never)).toBe(false);
  } finally {
    await guard.close();
  }
});
