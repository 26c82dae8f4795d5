import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LikenessError, isLikenessError } from '../errors';
import { sha256File as hashFile } from '../paths';
import { resolveLimits, overLimit, type MediaLimits } from './limits';
import { invalid, options, str, int, bool } from '../validate';

// The one input gate. Every entry point (CLI, Guard, FaceAnalyzer, the job worker) reads media through it, so the
// same rules hold everywhere: only regular files (or bytes the caller hands over) are read; FIFOs, sockets, devices
// and folders named like media are refused before any open() (opening a FIFO blocks until a writer comes, forever);
// size limits are checked from the file system before a byte is read; reads honour an abort signal.

/** What an entry point may be given: a path, bytes, or a stream of bytes. */
export type MediaSourceInput = string | Buffer | Uint8Array | AsyncIterable<Uint8Array>;

/** What kind of file system object a path is, in words for messages. */
function describeNonFile(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/**
 * Checks that `file` names a regular file (a symbolic link to one is followed) without opening it, and returns its
 * stats. E_NOT_FOUND when nothing is there; E_INPUT for a folder, FIFO, socket, device, a dangling link or a link loop;
 * E_TOO_LARGE over `maxFileBytes`.
 */
export function statRegularFile(file: string, limits?: Pick<MediaLimits, 'maxFileBytes'>): fs.Stats {
  if (typeof file !== 'string' || file.length === 0) throw invalid('a media path must be a non-empty string');
  if (file.includes('\0')) throw invalid('a media path must not contain NUL characters');
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw invalid(`${file} is a symbolic link loop`, { file, reason: 'link_loop' });
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (isLink(file)) throw invalid(`${file} is a dangling symbolic link (its target does not exist)`, { file, reason: 'dangling_link' });
      throw new LikenessError('E_NOT_FOUND', `file not found: ${file}`, { file });
    }
    if (code === 'ENAMETOOLONG') throw invalid(`the path is too long: ${file.slice(0, 120)}...`, { reason: 'name_too_long' });
    throw invalid(`cannot read ${file}: ${(e as Error).message}`, { file });
  }
  if (!st.isFile()) throw invalid(`${file} is ${describeNonFile(st)}, not a media file`, { file, reason: 'not_regular' });
  const max = limits?.maxFileBytes;
  if (max !== undefined && st.size > max) throw overLimit(file, `the file is ${st.size} bytes, which`, 'maxFileBytes', st.size, max);
  return st;
}

function isLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Opens a regular file for reading. O_NONBLOCK makes open() return at once even if the path was swapped for a FIFO
 * after the check; the descriptor is then checked again (fstat) and refused unless it is the regular file checked.
 */
export function openRegularFile(file: string, limits?: Pick<MediaLimits, 'maxFileBytes'>): { fd: number; size: number } {
  const st = statRegularFile(file, limits);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (fs.constants.O_NOCTTY ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LikenessError('E_NOT_FOUND', `file not found: ${file}`, { file });
    throw invalid(`cannot open ${file}: ${(e as Error).message}`, { file });
  }
  const now = fs.fstatSync(fd);
  if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
    fs.closeSync(fd);
    throw invalid(`${file} changed while it was being opened; it is not a regular file now`, { file, reason: 'not_regular' });
  }
  return { fd, size: now.size };
}

/** Throws E_ABORTED when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new LikenessError('E_ABORTED', `${what} was aborted`);
}

/** sha256 of a regular file through the gate (a FIFO would block a read forever), stopping with E_ABORTED on `signal`. */
export async function sha256File(file: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
  statRegularFile(file);
  try {
    return await hashFile(file, opts.signal);
  } catch (e) {
    if (isLikenessError(e)) throw e;
    throw new LikenessError('E_DECODE', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
}

/** An input as a regular file on disk, ready for decoders and ffmpeg. */
export interface GatedInput {
  /** A path to a regular file (the caller's own, or a private temp copy of bytes / a stream). */
  file: string;
  /** The name to report: the path, or the caller's label for bytes and streams. */
  label: string;
  /** Size in bytes. */
  bytes: number;
  /** sha256 of the content when it was computed on the way (bytes and streams), else undefined. */
  sha256?: string;
  /** Removes the temp copy, if any. Safe to call twice. */
  cleanup(): void;
}

/** Options of {@link gateInput}. */
export interface InputGateOptions {
  /** Limits; `maxFileBytes` is checked here. */
  limits?: Partial<MediaLimits>;
  /** Name for bytes and streams (default `<buffer>` / `<stream>`). */
  label?: string;
  /** Stops reading a stream with E_ABORTED. */
  signal?: AbortSignal;
}

/**
 * The input gate: turns a path, bytes or a byte stream into a checked regular file. A path must be a regular file
 * (see {@link statRegularFile}); bytes and streams are written to a private temp file, counting bytes against
 * `maxFileBytes` as they arrive (a stream that never ends stops at the limit) and hashing on the way.
 */
export async function gateInput(input: MediaSourceInput, opts: InputGateOptions = {}): Promise<GatedInput> {
  options('input gate options', opts);
  const limits = resolveLimits(opts.limits);
  throwIfAborted(opts.signal, 'reading the input');
  if (typeof input === 'string') {
    const st = statRegularFile(input, limits);
    return { file: input, label: input, bytes: st.size, cleanup: () => undefined };
  }
  const isBytes = input instanceof Uint8Array;
  if (!isBytes && (typeof input !== 'object' || input === null || typeof (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function')) {
    throw invalid('media input must be a path, a Buffer / Uint8Array or an async iterable of Uint8Array chunks');
  }
  const label = opts.label ?? (isBytes ? '<buffer>' : '<stream>');
  if (isBytes && input.byteLength > limits.maxFileBytes) throw overLimit(label, `the input is ${input.byteLength} bytes, which`, 'maxFileBytes', input.byteLength, limits.maxFileBytes);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-input-'));
  const file = path.join(dir, 'input');
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const h = createHash('sha256');
    let bytes = 0;
    if (isBytes) {
      h.update(input);
      fs.writeFileSync(file, input, { mode: 0o600 });
      bytes = input.byteLength;
    } else {
      const out = fs.openSync(file, 'w', 0o600);
      try {
        for await (const chunk of input) {
          throwIfAborted(opts.signal, `reading ${label}`);
          if (!(chunk instanceof Uint8Array)) throw invalid(`${label}: stream chunks must be Uint8Array, got ${typeof chunk}`);
          bytes += chunk.byteLength;
          if (bytes > limits.maxFileBytes) throw overLimit(label, `the stream is over ${limits.maxFileBytes} bytes, which`, 'maxFileBytes', bytes, limits.maxFileBytes);
          h.update(chunk);
          fs.writeSync(out, chunk);
        }
      } finally {
        fs.closeSync(out);
      }
    }
    return { file, label, bytes, sha256: h.digest('hex'), cleanup };
  } catch (e) {
    cleanup();
    if (isLikenessError(e)) throw e;
    throw new LikenessError('E_DECODE', `cannot read ${label}: ${(e as Error).message}`, { file: label });
  }
}

/** One entry that a folder walk could not take, with its reason. */
export interface WalkProblem {
  path: string;
  error: LikenessError;
}

/** Options of {@link listMediaFiles}. */
export interface WalkOptions {
  /** Stop after this many files (default: the maxFiles limit, 100,000). */
  maxFiles?: number;
  /** Keep dot-files and dot-folders (default false: .git, .DS_Store are skipped). */
  includeHidden?: boolean;
}

/**
 * Regular files under `dir`, sorted by name, depth first. Links to regular files are followed; links to folders are
 * not (no loops, no escaping the tree); dangling links, link loops and special files become {@link WalkProblem}s (they
 * are named like media but cannot be read). Stops at `maxFiles` with a problem saying so.
 */
export function listMediaFiles(dir: string, opts: WalkOptions = {}): { files: string[]; problems: WalkProblem[]; truncated: boolean } {
  str('folder', dir);
  options('walk options', opts);
  const maxFiles = int('maxFiles', opts.maxFiles ?? resolveLimits().maxFiles, 1, Number.MAX_SAFE_INTEGER);
  if (opts.includeHidden !== undefined) bool('includeHidden', opts.includeHidden);
  let root: fs.Stats;
  try {
    root = fs.statSync(dir);
  } catch {
    throw new LikenessError('E_NOT_FOUND', `folder not found: ${dir}`, { file: dir });
  }
  if (!root.isDirectory()) throw invalid(`${dir} is not a folder`, { file: dir });
  const files: string[] = [];
  const problems: WalkProblem[] = [];
  let truncated = false;
  const visit = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch (e) {
      problems.push({ path: d, error: invalid(`cannot list ${d}: ${(e as Error).message}`, { file: d }) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (truncated) return;
      if (!opts.includeHidden && e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        visit(p);
        continue;
      }
      if (e.isSymbolicLink()) {
        let st: fs.Stats | undefined;
        try {
          st = fs.statSync(p);
        } catch {
          st = undefined;
        }
        if (st?.isDirectory()) continue; // links to folders are not followed
      }
      if (!e.isFile()) {
        try {
          statRegularFile(p);
        } catch (err) {
          problems.push({ path: p, error: isLikenessError(err) ? err : invalid(`${p}: ${(err as Error).message}`) });
          continue;
        }
      }
      if (files.length >= maxFiles) {
        truncated = true;
        problems.push({ path: dir, error: overLimit(dir, `the folder holds more than ${maxFiles} files; the first ${maxFiles}`, 'maxFiles', maxFiles + 1, maxFiles) });
        return;
      }
      files.push(p);
    }
  };
  statFolder(dir);
  visit(dir);
  return { files, problems, truncated };
}

function statFolder(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new LikenessError('E_NOT_FOUND', `folder not found: ${dir}`, { file: dir });
  }
  if (!st.isDirectory()) throw invalid(`${dir} is not a folder`, { file: dir });
}

/** Largest `--from` list read (64 MiB: about a million paths). */
const MAX_PATH_LIST_BYTES = 64 << 20;

/**
 * Paths listed in a file, or on standard input for `-`: NUL-separated when the text holds a NUL (as `find -print0`
 * writes, safe for any file name), else one per line (a trailing `\r` is dropped); empty entries are skipped.
 * @throws LikenessError E_NOT_FOUND when the list file is missing; E_INPUT when it is not a regular file (or stdin
 * cannot be read); E_TOO_LARGE over 64 MiB.
 */
export function readPathList(source: string): string[] {
  str('path list', source);
  let buf: Buffer;
  if (source === '-') {
    try {
      buf = fs.readFileSync(0);
    } catch (e) {
      throw invalid(`cannot read the path list from standard input: ${(e as Error).message}`);
    }
  } else {
    statRegularFile(source, { maxFileBytes: MAX_PATH_LIST_BYTES });
    buf = fs.readFileSync(source);
  }
  if (buf.length > MAX_PATH_LIST_BYTES) throw invalid(`the path list on standard input is over 64 MiB`);
  const text = buf.toString('utf8');
  const entries = text.includes('\0') ? text.split('\0') : text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return entries.filter((e) => e.length > 0);
}
