import { hammingWords, popcount32 } from './hamming';

function naive(x: number): number {
  let n = 0;
  for (let i = 0; i < 32; i++) if ((x >>> i) & 1) n++;
  return n;
}

test('popcount32 agrees with a bit loop', () => {
  for (const x of [0, 1, 0xffffffff, 0x80000000, 0x55555555, 0x12345678, 0xdeadbeef]) expect(popcount32(x)).toBe(naive(x));
  let s = 12345;
  for (let i = 0; i < 1000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    expect(popcount32(s)).toBe(naive(s));
  }
});

test('hammingWords counts differing bits over a window of words', () => {
  const a = Uint32Array.of(0, 0xff, 0xffffffff, 7);
  const b = Uint32Array.of(1, 0x0f, 0, 7, 9);
  expect(hammingWords(a, 0, b, 0, 4)).toBe(1 + 4 + 32 + 0);
  expect(hammingWords(a, 3, b, 3, 1)).toBe(0);
  expect(hammingWords(a, 3, b, 4, 1)).toBe(naive(7 ^ 9));
});
