// Speech as sample ranges of a signal: the windowing of the embedder and the turn detector share these (internal).

/** The sample ranges covering speech time [from, to) (speech time counts only samples inside `ranges`). */
export function sliceSpeech(ranges: [number, number][], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let t = 0;
  for (const [a, b] of ranges) {
    const len = b - a;
    const lo = Math.max(from, t);
    const hi = Math.min(to, t + len);
    if (hi > lo) out.push([a + lo - t, a + hi - t]);
    t += len;
    if (t >= to) break;
  }
  return out;
}

/** The samples of `pieces` joined in order (a view, not a copy, when there is one piece). */
export function gather(x: Float32Array, pieces: [number, number][]): Float32Array {
  if (pieces.length === 1) return x.subarray(pieces[0]![0], pieces[0]![1]);
  const out = new Float32Array(pieces.reduce((t, [a, b]) => t + b - a, 0));
  let o = 0;
  for (const [a, b] of pieces) {
    out.set(x.subarray(a, b), o);
    o += b - a;
  }
  return out;
}
