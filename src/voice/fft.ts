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
  private readonly cosM: Float64Array;
  private readonly sinM: Float64Array;
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
    // Twiddles of the M-point complex FFT: e^{-2 pi i k / M}, k < M/2.
    this.cosM = new Float64Array(m >> 1);
    this.sinM = new Float64Array(m >> 1);
    for (let k = 0; k < m >> 1; k++) {
      this.cosM[k] = Math.cos((2 * Math.PI * k) / m);
      this.sinM[k] = -Math.sin((2 * Math.PI * k) / m);
    }
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

  /** Iterative radix-2 decimation-in-time FFT of (re, im), input already in bit-reversed order. */
  private complexInPlace(): void {
    const m = this.half;
    const re = this.re;
    const im = this.im;
    const cosM = this.cosM;
    const sinM = this.sinM;
    for (let size = 2; size <= m; size <<= 1) {
      const halfSize = size >> 1;
      const step = (m / size) | 0;
      for (let start = 0; start < m; start += size) {
        for (let j = 0, t = 0; j < halfSize; j++, t += step) {
          const a = start + j;
          const b = a + halfSize;
          const wr = cosM[t];
          const wi = sinM[t];
          const br = re[b] * wr - im[b] * wi;
          const bi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - br;
          im[b] = im[a] - bi;
          re[a] += br;
          im[a] += bi;
        }
      }
    }
  }
}
