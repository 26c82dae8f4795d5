import { loadAddon } from './addon';

// An inverted index over 32-bit keys in flat typed arrays, for the reference index of match/origin-index.ts: built in
// linear time, looked up one key at a time or a batch at once (the batch runs a native kernel when the addon has it).
// Hand-written: a JS Map of arrays costs several times the memory and is slower to build, and no maintained package
// offers a typed-array multimap.

/** The empty filter the native kernel reads as "no filter". */
const NO_FILTER = new Uint32Array(0);

/**
 * 32-bit keys to (entry, frame) postings in typed arrays, built in linear time: postings grouped (counting sort) by
 * the top bits of a mixed key, about two postings per group, and a lookup scans its group for the exact key.
 */
export class PostingTable {
  private readonly keys: Uint32Array;
  private readonly entry: Uint32Array;
  private readonly frame: Uint32Array;
  private readonly offsets: Uint32Array;
  private readonly shift: number;
  /**
   * With `filter`: one bit per slot of a table of 8 slots per posting, set where some key hashes. Most probes of a
   * large table are for keys it does not hold; one read of this bitset (an eighth of a byte per posting) answers about
   * 88% of them without reading the group offsets and keys (two cache misses each once the table outgrows the cache).
   */
  private readonly filter: Uint32Array | null;
  private readonly filterMask: number;

  constructor(postings: { key: Uint32Array; entry: Uint32Array; frame: Uint32Array; n: number }, opts: { filter?: boolean } = {}) {
    const { n, key } = postings;
    if (opts.filter) {
      const bits = Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(1, n) * 8)));
      this.filterMask = bits - 1;
      this.filter = new Uint32Array(bits / 32);
      for (let i = 0; i < n; i++) {
        const b = mix(key[i]!) & this.filterMask;
        this.filter[b >>> 5]! |= 1 << (b & 31);
      }
    } else {
      this.filter = null;
      this.filterMask = 0;
    }
    const bits = Math.min(26, Math.max(4, Math.ceil(Math.log2(Math.max(n, 1) / 2))));
    this.shift = 32 - bits;
    const groups = 1 << bits;
    const offsets = new Uint32Array(groups + 1);
    for (let i = 0; i < n; i++) offsets[(mix(key[i]!) >>> this.shift) + 1]!++;
    for (let g = 0; g < groups; g++) offsets[g + 1]! += offsets[g]!;
    const fill = offsets.slice(0, groups);
    this.keys = new Uint32Array(n);
    this.entry = new Uint32Array(n);
    this.frame = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const p = fill[mix(key[i]!) >>> this.shift]!++;
      this.keys[p] = key[i]!;
      this.entry[p] = postings.entry[i]!;
      this.frame[p] = postings.frame[i]!;
    }
    this.offsets = offsets;
  }

  /**
   * Calls `hit(entry, frame)` for each posting of `key`, unless its group holds more than `cap` postings: a key that
   * common (a sub-fingerprint many recordings share) says little about which one this is, and would make the lookup
   * cost grow with the index (a stop word).
   */
  forEach(key: number, hit: (entry: number, frame: number) => void, cap = Infinity): void {
    const m = mix(key);
    if (this.filter) {
      const b = m & this.filterMask;
      if (!(this.filter[b >>> 5]! & (1 << (b & 31)))) return;
    }
    this.scanGroup(key, m, hit, cap);
  }

  /**
   * {@link forEach} for `keys[0..count)`: `hit` gets the key's position in `keys` too, in key order and, within a
   * key, in posting order. A large table's filter, offsets and keys miss the cache on nearly every probe; the native
   * kernel reads them in passes, prefetching probes ahead, so many misses are in flight at once. The TS twin gives the
   * same hits.
   */
  forEachOf(keys: Uint32Array, count: number, hit: (entry: number, frame: number, k: number) => void, cap = Infinity): void {
    const a = loadAddon();
    if (a && typeof a.probePostings === 'function') {
      const c = Math.min(0xffffffff, cap);
      let total = a.probePostings(this.filter ?? NO_FILTER, this.filterMask, this.offsets, this.shift, this.keys, this.entry, this.frame, keys, count, c, this.hits);
      if (total * 3 > this.hits.length) {
        this.hits = new Uint32Array(total * 3);
        total = a.probePostings(this.filter ?? NO_FILTER, this.filterMask, this.offsets, this.shift, this.keys, this.entry, this.frame, keys, count, c, this.hits);
      }
      const h = this.hits;
      for (let i = 0; i < total * 3; i += 3) hit(h[i + 1]!, h[i + 2]!, h[i]!);
      return;
    }
    // TS twin: the filter pass first, then the groups of the keys that pass (the same order of hits).
    const live = this.scratch(count);
    let pass = 0;
    for (let k = 0; k < count; k++) {
      const m = mix(keys[k]!);
      live[pass * 2] = m;
      live[pass * 2 + 1] = k;
      pass += this.filter === null ? 1 : (this.filter[(m & this.filterMask) >>> 5]! >>> (m & 31)) & 1;
    }
    for (let s = 0; s < pass; s++) {
      const k = live[s * 2 + 1]!;
      this.scanGroup(keys[k]!, live[s * 2]!, (e, f) => hit(e, f, k), cap);
    }
  }

  private live = new Uint32Array(0);

  /** A reused buffer of at least 2 x `count` words (mixed key, position) for the TS {@link forEachOf}. */
  private scratch(count: number): Uint32Array {
    if (this.live.length < count * 2) this.live = new Uint32Array(count * 2);
    return this.live;
  }

  /** Reused (probe, entry, frame) triples of the native {@link forEachOf}. */
  private hits = new Uint32Array(3 * 4096);

  private scanGroup(key: number, m: number, hit: (entry: number, frame: number) => void, cap: number): void {
    const g = m >>> this.shift;
    const end = this.offsets[g + 1]!;
    if (end - this.offsets[g]! > cap) return;
    for (let i = this.offsets[g]!; i < end; i++) if (this.keys[i] === key) hit(this.entry[i]!, this.frame[i]!);
  }
}

/** A 32-bit integer hash (murmur3 finaliser) for table slots. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

