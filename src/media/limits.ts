import { LikenessError } from '../errors';
import { int, obj, oneOf } from '../validate';

/**
 * Limits that bound what one input may cost, checked before anything large is allocated: from the file system
 * (`maxFileBytes`), from headers (`maxPixels`, `maxFrameBytes`, `maxChannels`, `maxSampleRate`) and on what really
 * decodes (`maxDurationS`; a header's duration is never trusted). Every entry point (CLI, Guard, FaceAnalyzer, the
 * job worker) takes the same object, so one setting holds everywhere.
 */
export interface MediaLimits {
  /** Largest input file or buffer in bytes (default 16 GiB). */
  maxFileBytes: number;
  /** Largest image width x height, from its header (default 50 MP; larger images are refused, not decoded). */
  maxPixels: number;
  /** Largest video frame at its coded size, as RGB bytes width x height x 3 (default 4096 x 4096 x 3). */
  maxFrameBytes: number;
  /** Longest media that is decoded, in seconds of what really decodes (default 24 h; whole-file audio decodes stop at 1 h). */
  maxDurationS: number;
  /** Most audio channels in a stream (default 32). */
  maxChannels: number;
  /** Highest audio sample rate in Hz (default 384 kHz). */
  maxSampleRate: number;
  /** Most files taken from one folder given as input (default 100,000). */
  maxFiles: number;
}

/** The defaults of {@link MediaLimits}. */
export const DEFAULT_LIMITS: Readonly<MediaLimits> = Object.freeze({
  maxFileBytes: 16 * 1024 ** 3,
  maxPixels: 50_000_000,
  maxFrameBytes: 4096 * 4096 * 3,
  maxDurationS: 24 * 3600,
  maxChannels: 32,
  maxSampleRate: 384_000,
  maxFiles: 100_000,
});

/** Bounds each limit may be set within (a limit of 0 would refuse everything; one of 1e18 bounds nothing). */
export const LIMIT_RANGES: Readonly<Record<keyof MediaLimits, readonly [number, number]>> = {
  maxFileBytes: [1, 2 ** 50],
  maxPixels: [1, 2 ** 34],
  maxFrameBytes: [3, 2 ** 34],
  maxDurationS: [1, 10 * 365 * 86400],
  maxChannels: [1, 1024],
  maxSampleRate: [1000, 10_000_000],
  maxFiles: [1, 100_000_000],
};

/** The names of the limits, as `Guard.open({limits})` and the `--max-*` flags take them. */
export const LIMIT_NAMES = Object.freeze(Object.keys(LIMIT_RANGES) as (keyof MediaLimits)[]);

/**
 * Fills in defaults and checks each given limit (E_INPUT for an unknown name or a value out of range). Accepts
 * undefined for "all defaults".
 */
export function resolveLimits(given?: Partial<MediaLimits>): MediaLimits {
  if (given === undefined) return { ...DEFAULT_LIMITS };
  const out: MediaLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(obj('limits', given))) {
    if (v === undefined) continue;
    const name = oneOf('limit name', k, LIMIT_NAMES);
    const [lo, hi] = LIMIT_RANGES[name];
    out[name] = int(name, v, lo, hi);
  }
  return out;
}

/** The E_TOO_LARGE error of one limit, naming it and how to raise it. */
export function overLimit(label: string, what: string, limit: keyof MediaLimits, value: number, max: number): LikenessError {
  const flag = limitFlag(limit);
  return new LikenessError('E_TOO_LARGE', `${label}: ${what} is over the limit of ${max}; raise ${limit} (${flag}) to accept it`, {
    file: label,
    limit,
    value,
    max,
  });
}

/** The CLI flag of a limit: maxFileBytes -> --max-file-bytes, maxDurationS -> --max-duration-s. */
export function limitFlag(limit: keyof MediaLimits): string {
  return '--max' + limit.slice(3).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}
