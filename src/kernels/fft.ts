import { LikenessError } from '../errors';

// Our own FFT because it sits on the hot path of feature extraction (one 512-point transform per 10 ms of audio) and
// because the native kernel is checked against this TS twin. A real input of length N is packed into a complex
// sequence of length N/2 (even samples real, odd samples imaginary), transformed with an iterative radix-2 FFT and
// untangled, which halves the work of a complex N-point transform. All tables are precomputed per size.

/** A real-input FFT of a fixed power-of-two size that returns the power spectrum |X[k]|^2 for k = 0..N/2. */
export class RealFft {
  /** Transform size N (a power of two, at least 4). */
  readonly size: number;
  private readonly half: number;
  private readonly rev: Uint32Array;
  /** Twiddles of the M-point complex FFT for stages of size 8 and up, (cos, -sin) pairs, stage after stage. */
  private readonly twiddles: Float64Array;
  private readonly cosN: Float64Array;
  private readonly sinN: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  /** Builds the tables for size `n`; throws E_INPUT unless `n` is a power of two >= 4. */
  constructor(n: number) {
    if (!Number.isInteger(n) || n < 4 || (n & (n - 1)) !== 0) throw new LikenessError('E_INPUT', `FFT size must be a power of two >= 4, got ${n}`);
    this.size = n;
    const m = n >> 1;
    this.half = m;
    const bits = Math.log2(m);
    this.rev = new Uint32Array(m);
    for (let i = 0; i < m; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    // Stage tables laid out in the order the butterflies read them, so the inner loop walks memory forwards.
    const tw: number[] = [];
    for (let size = 8; size <= m; size <<= 1) {
      for (let j = 0; j < size >> 1; j++) tw.push(Math.cos((2 * Math.PI * j) / size), -Math.sin((2 * Math.PI * j) / size));
    }
    this.twiddles = Float64Array.from(tw);
    // Twiddles of the final split step: e^{-2 pi i k / N}, k <= M.
    this.cosN = new Float64Array(m + 1);
    this.sinN = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.cosN[k] = Math.cos((2 * Math.PI * k) / n);
      this.sinN[k] = -Math.sin((2 * Math.PI * k) / n);
    }
    this.re = new Float64Array(m);
    this.im = new Float64Array(m);
  }

  /**
   * Writes |X[k]|^2 for k = 0..N/2 of the real sequence `input` (length N; shorter input is zero-padded) into `out`
   * (length >= N/2 + 1).
   */
  powerSpectrum(input: ArrayLike<number>, out: Float64Array): void {
    const m = this.half;
    const re = this.re;
    const im = this.im;
    const rev = this.rev;
    const len = input.length;
    for (let i = 0; i < m; i++) {
      const j = rev[i];
      const a = 2 * i;
      re[j] = a < len ? input[a] : 0;
      im[j] = a + 1 < len ? input[a + 1] : 0;
    }
    this.complexInPlace();
    // Untangle: X[k] = E[k] + W^k O[k], with E, O the spectra of the even and odd samples recovered from Z.
    const cosN = this.cosN;
    const sinN = this.sinN;
    for (let k = 0; k <= m; k++) {
      const k1 = k === m ? 0 : k;
      const k2 = k === 0 ? 0 : m - k;
      const zr = re[k1];
      const zi = im[k1];
      const cr = re[k2];
      const ci = -im[k2];
      const er = 0.5 * (zr + cr);
      const ei = 0.5 * (zi + ci);
      // O[k] = (Z[k] - conj(Z[M-k])) / (2i)
      const dr = zr - cr;
      const di = zi - ci;
      const or = 0.5 * di;
      const oi = -0.5 * dr;
      const wr = cosN[k];
      const wi = sinN[k];
      const xr = er + wr * or - wi * oi;
      const xi = ei + wr * oi + wi * or;
      out[k] = xr * xr + xi * xi;
    }
  }

  /**
   * Iterative radix-2 decimation-in-time FFT of (re, im), input already in bit-reversed order. The first two stages
   * (twiddles 1 and -i) are fused into one multiply-free radix-4 pass.
   */
  private complexInPlace(): void {
    const m = this.half;
    const re = this.re;
    const im = this.im;
    if (m === 2) {
      const ar = re[0];
      const ai = im[0];
      re[0] = ar + re[1];
      im[0] = ai + im[1];
      re[1] = ar - re[1];
      im[1] = ai - im[1];
      return;
    }
    for (let s = 0; s < m; s += 4) {
      const t0r = re[s] + re[s + 1];
      const t0i = im[s] + im[s + 1];
      const t1r = re[s] - re[s + 1];
      const t1i = im[s] - im[s + 1];
      const t2r = re[s + 2] + re[s + 3];
      const t2i = im[s + 2] + im[s + 3];
      const t3r = re[s + 2] - re[s + 3];
      const t3i = im[s + 2] - im[s + 3];
      re[s] = t0r + t2r;
      im[s] = t0i + t2i;
      re[s + 2] = t0r - t2r;
      im[s + 2] = t0i - t2i;
      // (t3r + i t3i) * (-i) = t3i - i t3r
      re[s + 1] = t1r + t3i;
      im[s + 1] = t1i - t3r;
      re[s + 3] = t1r - t3i;
      im[s + 3] = t1i + t3r;
    }
    const tw = this.twiddles;
    let off = 0;
    for (let size = 8; size <= m; size <<= 1) {
      const half = size >> 1;
      for (let start = 0; start < m; start += size) {
        for (let j = 0; j < half; j++) {
          const a = start + j;
          const b = a + half;
          const wr = tw[off + 2 * j];
          const wi = tw[off + 2 * j + 1];
          const xr = re[b];
          const xi = im[b];
          const br = xr * wr - xi * wi;
          const bi = xr * wi + xi * wr;
          const ar = re[a];
          const ai = im[a];
          re[b] = ar - br;
          im[b] = ai - bi;
          re[a] = ar + br;
          im[a] = ai + bi;
        }
      }
      off += size;
    }
  }
}
