import { speakerTurns, type TurnEmbedder } from './turns';

// A stand-in embedder: "speaker A" is positive samples, "speaker B" negative; the embedding is the unit vector of
// (share positive, share negative), so two windows of one speaker have cosine 1 and of different speakers 0.
const fake: TurnEmbedder = {
  async embedSamples(x) {
    let p = 0;
    for (const v of x) if (v > 0) p++;
    const a = p / x.length;
    const b = 1 - a;
    const n = Math.hypot(a, b);
    return Float32Array.of(a / n, b / n);
  },
};

function signal(parts: [number, number][]): { sampleRate: 16000; samples: Float32Array; offset: number } {
  const n = parts.reduce((t, [s]) => t + Math.round(s * 16000), 0);
  const x = new Float32Array(n);
  let o = 0;
  for (const [s, v] of parts) {
    x.fill(v, o, o + Math.round(s * 16000));
    o += Math.round(s * 16000);
  }
  return { sampleRate: 16000, samples: x, offset: 0 };
}

test('a change of speaker with no pause splits the speech; the margin either side belongs to neither turn', async () => {
  const sig = signal([[5, 0.5], [4, -0.5], [6, 0.5]]);
  const turns = await speakerTurns(fake, sig, [{ start: 0, end: 15 }]);
  expect(turns.map((t) => [t.start, t.end])).toEqual([
    [0, 4.5],
    [5.5, 8.5],
    [9.5, 15],
  ]);
  expect(turns[1]!.speechSeconds).toBeCloseTo(3, 6);
});

test('one speaker throughout is one turn; a long pause ends a turn; a change near a pause moves onto it', async () => {
  const one = await speakerTurns(fake, signal([[8, 0.5]]), [{ start: 0, end: 8 }]);
  expect(one.map((t) => [t.start, t.end])).toEqual([[0, 8]]);
  const paused = await speakerTurns(fake, signal([[8, 0.5]]), [{ start: 0, end: 3 }, { start: 4.5, end: 8 }]);
  expect(paused.map((t) => [t.start, t.end])).toEqual([[0, 3], [4.5, 8]]);
  // B starts at 4.2 s, right after a 0.2 s pause at 4.0-4.2: the cut lands at the pause's end (then the margin).
  const sig = signal([[4.2, 0.5], [4, -0.5]]);
  const near = await speakerTurns(fake, sig, [{ start: 0, end: 4 }, { start: 4.2, end: 8.2 }]);
  expect(near).toHaveLength(2);
  expect(near[0]!.end).toBeCloseTo(3.7, 6);
  expect(near[1]!.start).toBeCloseTo(4.7, 6);
});

test('speech on a chunk with an offset keeps the signal timeline; too little speech gives one turn', async () => {
  const sig = { ...signal([[2, 0.5]]), offset: 60 };
  const turns = await speakerTurns(fake, sig, [{ start: 60.5, end: 61.5 }]);
  expect(turns).toEqual([{ start: 60.5, end: 61.5, speech: [{ start: 60.5, end: 61.5 }], speechSeconds: 1 }]);
});
