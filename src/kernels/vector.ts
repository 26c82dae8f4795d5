import { LikenessError } from '../errors';

/** Returns a unit-length copy of `v`. @throws LikenessError E_INPUT for zero or non-finite vectors. */
export function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  if (!Number.isFinite(s) || s === 0) throw new LikenessError('E_INPUT', 'an embedding is zero or not finite');
  const inv = 1 / Math.sqrt(s);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * inv;
  return out;
}

