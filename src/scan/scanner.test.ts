import { readAhead } from './scanner';

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
