import type { RgbImage } from '../types';
import { frameThumbnail, readAhead, sameThumbnail } from './scanner';

function grey(w: number, h: number, v: number): RgbImage {
  return { width: w, height: h, data: new Uint8Array(w * h * 3).fill(v) };
}

test('readAhead keeps order, prefetches at most n items, and stops the source when the consumer leaves', async () => {
  let produced = 0;
  let closed = false;
  async function* src(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < 100; i++) {
        produced++;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  const got: number[] = [];
  for await (const x of readAhead(src(), 3)) {
    got.push(x);
    await new Promise((r) => setTimeout(r, 1));
    expect(produced - got.length).toBeLessThanOrEqual(3);
    if (got.length === 5) break;
  }
  expect(got).toEqual([0, 1, 2, 3, 4]);
  expect(closed).toBe(true);
});

test('readAhead passes the source error on after the items before it', async () => {
  async function* src(): AsyncGenerator<number> {
    yield 1;
    throw new Error('boom');
  }
  const got: number[] = [];
  await expect((async () => {
    for await (const x of readAhead(src(), 2)) got.push(x);
  })()).rejects.toThrow('boom');
  expect(got).toEqual([1]);
});

test('unchanged frames are recognised up to codec noise; a face-sized change is not', () => {
  const a = grey(640, 360, 120);
  const noisy = grey(640, 360, 120);
  for (let i = 0; i < noisy.data.length; i += 7) noisy.data[i] = 120 + ((i >> 3) % 3) - 1;
  expect(sameThumbnail(frameThumbnail(a), frameThumbnail(noisy))).toBe(true);
  const changed = grey(640, 360, 120);
  for (let y = 100; y < 200; y++) for (let x = 300; x < 380; x++) changed.data.fill(30, (y * 640 + x) * 3, (y * 640 + x) * 3 + 3);
  expect(sameThumbnail(frameThumbnail(a), frameThumbnail(changed))).toBe(false);
});
