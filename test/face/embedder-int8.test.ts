import { FaceAnalyzer } from '../../src/face/analyzer';
import { FACEPLUGIN_EMBEDDERS, FacepluginEmbedder } from '../../src/face/faceplugin';
import { decodeImage } from '../../src/media/image';
import { cosine } from '../../src/eval/face-eval';
import { sampleImage } from '../helpers/images';

// The presets embed with the int8 quantisation of the faceplugin embedder (scripts/models/quantize_embedder.py);
// its embeddings must stay close to the float32 original's on real faces, and both presets must use it.

test('the presets use the int8 embedder', async () => {
  for (const preset of ['accurate', 'fast'] as const) expect((await FaceAnalyzer.create({ preset })).modelId).toBe(FACEPLUGIN_EMBEDDERS.int8);
});

test('int8 and float32 embeddings of the same faces agree (cosine > 0.95 each, > 0.98 on average), and different people stay apart', async () => {
  const fa = await FaceAnalyzer.create();
  const int8 = new FacepluginEmbedder({ precision: 'int8' });
  const f32 = new FacepluginEmbedder({ precision: 'float32' });
  expect(f32.id).toBe(FACEPLUGIN_EMBEDDERS.float32);
  const cos: number[] = [];
  const a: Float32Array[] = [];
  for (const n of [1, 2, 3] as const) {
    const image = await decodeImage(sampleImage(n));
    const faces = await fa.detect(image);
    expect(faces.length).toBeGreaterThan(0);
    const [q, r] = [await int8.embed(image, faces), await f32.embed(image, faces)];
    q.forEach((v, i) => cos.push(cosine(v, r[i]!)));
    a.push(...q);
  }
  expect(Math.min(...cos)).toBeGreaterThan(0.95);
  expect(cos.reduce((s, c) => s + c, 0) / cos.length).toBeGreaterThan(0.98);
  // Faces of different people (the group photo's first two) are far apart under int8 as under float32.
  expect(cosine(a[0]!, a[1]!)).toBeLessThan(0.5);
});
