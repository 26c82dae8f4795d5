/**
 * Stable error codes. They are public API: callers branch on them, so a code is never renamed or reused.
 * - `E_INPUT` bad argument; `E_DECODE` unreadable media; `E_UNSUPPORTED` format or codec not handled;
 * - `E_TOO_LARGE` pixel, duration or size limit; `E_TIMEOUT`; `E_ABORTED`;
 * - `E_MODEL` model missing, checksum mismatch or load failure; `E_FFMPEG` ffmpeg missing or failed;
 * - `E_STORE` database; `E_CONSENT` consent missing or not valid; `E_NOT_FOUND`; `E_CRYPTO` key or cipher problem;
 * - `E_NO_FACE` no usable face; `E_NO_SPEECH` no usable speech; `E_QUALITY` media rejected by the enrollment gate,
 *   or a degenerate template (`details.reason` `degenerate_template`) refused by the gate, the registry or the store;
 * - `E_INTERNAL` a bug inside the library (the input is named; a batch goes on with the next input).
 */
export type ErrorCode =
  | 'E_INTERNAL'
  | 'E_INPUT'
  | 'E_DECODE'
  | 'E_UNSUPPORTED'
  | 'E_TOO_LARGE'
  | 'E_TIMEOUT'
  | 'E_ABORTED'
  | 'E_MODEL'
  | 'E_FFMPEG'
  | 'E_STORE'
  | 'E_CONSENT'
  | 'E_NOT_FOUND'
  | 'E_CRYPTO'
  | 'E_NO_FACE'
  | 'E_NO_SPEECH'
  | 'E_QUALITY'
  | 'E_INTERNAL';

const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'E_INTERNAL', 'E_INPUT', 'E_DECODE', 'E_UNSUPPORTED', 'E_TOO_LARGE', 'E_TIMEOUT', 'E_ABORTED', 'E_MODEL', 'E_FFMPEG',
  'E_STORE', 'E_CONSENT', 'E_NOT_FOUND', 'E_CRYPTO', 'E_NO_FACE', 'E_NO_SPEECH', 'E_QUALITY',
]);

/** The one error type the library throws. `code` is stable; `message` says what to do about it. */
export class LikenessError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Extra context (file, limit, model id...). Never holds biometric data. */
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LikenessError';
    this.code = code;
    if (details !== undefined) this.details = details;
    // The error type checks its own arguments (it sits below the validation module): an unknown code or a non-text
    // message would break every caller that branches on `code`.
    if (!ERROR_CODES.has(code)) throw new LikenessError('E_INPUT', `unknown error code ${JSON.stringify(code)}; use one of ${[...ERROR_CODES].join(', ')}`);
    if (typeof message !== 'string') throw new LikenessError('E_INPUT', 'an error message must be a string');
  }

  /** A plain object for JSON output. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is a LikenessError (also across module copies, by name and code). */
export function isLikenessError(e: unknown): e is LikenessError {
  return e instanceof LikenessError || (e instanceof Error && e.name === 'LikenessError' && 'code' in e);
}

/** Wraps any thrown value into a LikenessError, keeping it when it already is one. */
export function toLikenessError(e: unknown, fallback: ErrorCode, context: string): LikenessError {
  if (isLikenessError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new LikenessError(fallback, `${context}: ${msg}`, undefined, { cause: e });
}

/**
 * The error for one input after something unexpected was thrown while processing it: a LikenessError is kept as
 * it is; anything else is a bug, reported as E_INTERNAL with the input named so a batch can go on with the next one.
 */
export function internalError(e: unknown, input: string): LikenessError {
  if (isLikenessError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new LikenessError('E_INTERNAL', `${input}: internal error (a bug; please report it with this message): ${msg}`, { file: input }, { cause: e });
}
