import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { invalid } from '../validate';

// Where reports go. A report path is user-given, like an input path: it must never land on the store, on a file the
// same run reads, or on another output; it is checked before any work starts, and written by rename so a reader (or
// a hard link elsewhere) never sees half a file.

/** One output a run will write: the option that named it (`--json`) and the path given. */
export interface OutputTarget {
  /** The option or role, for messages (`--json`, `--report`). */
  flag: string;
  file: string;
}

/** What outputs must not overwrite: the store file (with its journal files) and the run's inputs. */
export interface ProtectedPaths {
  /** The store file; `-wal`, `-shm`, `-journal` and `.seen.json` next to it are protected with it. */
  store?: string;
  /** Input paths of the same run. */
  inputs?: readonly string[];
}

/** The canonical path of a file that may not exist yet: its folder's real path plus its own name. */
function canonical(file: string): string {
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    // Not there (yet): resolve the nearest existing folder above it.
    let dir = path.dirname(abs);
    const rest = [path.basename(abs)];
    for (;;) {
      try {
        return path.join(fs.realpathSync(dir), ...rest);
      } catch {
        const up = path.dirname(dir);
        if (up === dir) return abs;
        rest.unshift(path.basename(dir));
        dir = up;
      }
    }
  }
}

/** `dev:ino` of an existing file (hard links share it), or null. */
function identity(file: string): string | null {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Checks outputs before a run: none may be the store (or its `-wal`/`-shm`/`-journal`/`.seen.json`), an input of
 * the same run, or another output (compared by real path and, for existing files, by inode, so symlinks and hard
 * links count); each must be writable (its folder is created, and a probe file is created and removed in it).
 * @throws LikenessError E_INPUT naming the output and what it would overwrite, or why it cannot be written.
 */
export function checkOutputPaths(outputs: readonly OutputTarget[], protect: ProtectedPaths = {}): void {
  const guarded = new Map<string, string>(); // canonical path or identity -> what it is
  const note = (file: string, what: string): void => {
    guarded.set(canonical(file), what);
    const id = identity(file);
    if (id) guarded.set(id, what);
  };
  if (protect.store !== undefined && protect.store !== ':memory:') {
    for (const suffix of ['', '-wal', '-shm', '-journal', '.seen.json']) note(protect.store + suffix, `the store ${protect.store}${suffix ? ` (${suffix})` : ''}`);
  }
  for (const o of outputs) {
    const keys = [canonical(o.file), identity(o.file)].filter((k): k is string => k !== null);
    for (const k of keys) {
      const hit = guarded.get(k);
      if (hit) throw invalid(`${o.flag} ${o.file} would overwrite ${hit}: give another file`);
    }
    for (const k of keys) guarded.set(k, `the ${o.flag} output`);
  }
  // Inputs: compared by inode (cheap for thousands of them) and by real path.
  if (protect.inputs?.length) {
    const outKeys = new Map<string, OutputTarget>();
    for (const o of outputs) {
      outKeys.set(canonical(o.file), o);
      const id = identity(o.file);
      if (id) outKeys.set(id, o);
    }
    const anyExisting = outputs.some((o) => identity(o.file) !== null);
    for (const input of protect.inputs) {
      const id = anyExisting ? identity(input) : null;
      const hit = (id && outKeys.get(id)) || outKeys.get(path.resolve(input)) || (fs.existsSync(input) ? outKeys.get(canonical(input)) : undefined);
      if (hit) throw invalid(`${hit.flag} ${hit.file} would overwrite the input ${input}: give another file`);
    }
  }
  for (const o of outputs) checkWritable(o);
}

function checkWritable(o: OutputTarget): void {
  const abs = path.resolve(o.file);
  try {
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (st && !st.isFile()) throw new Error('it exists and is not a regular file');
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    const probe = tempName(abs);
    fs.closeSync(fs.openSync(probe, 'wx'));
    fs.unlinkSync(probe);
  } catch (e) {
    throw invalid(`${o.flag} ${o.file} cannot be written: ${(e as Error).message}`);
  }
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `text` to `file` atomically: a temp file in the same folder, flushed, then renamed over `file` (readers see
 * the old file or the new one, never part of one; a hard link to the old file keeps the old content).
 * @throws LikenessError E_INPUT naming the file when it cannot be written (the temp file is removed).
 */
export function writeFileAtomic(file: string, text: string | Uint8Array): void {
  const abs = path.resolve(file);
  let tmp: string | undefined;
  try {
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    tmp = tempName(abs);
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, abs);
    tmp = undefined;
  } catch (e) {
    throw invalid(`cannot write ${file}: ${(e as Error).message}`);
  } finally {
    if (tmp) fs.rmSync(tmp, { force: true });
  }
}

/**
 * A JSON Lines file written as it goes: opened for appending (created when missing), then one line per
 * {@link LineLog.write} appended with a single write and flushed to disk (fdatasync) before `write` returns. A process
 * killed at any moment leaves every line written before intact and parseable; at worst its last line is cut short,
 * and since each line ends with a newline, a cut-off tail never joins or damages the lines before it. Opening the
 * file again drops such a tail (everything after the last newline), so a rerun after a crash appends to the lines
 * the killed run finished.
 */
export class LineLog {
  private fd: number | null;

  private constructor(
    /** The file being written. */
    readonly file: string,
    fd: number,
    /** Bytes of a cut-off last line that {@link LineLog.open} dropped (0 when the file ended cleanly). */
    readonly droppedTail: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `file` for appending, creating it (and its folder) when missing and dropping a cut-off last line.
   * @throws LikenessError E_INPUT naming the file when it cannot be opened.
   */
  static open(file: string): LineLog {
    const abs = path.resolve(file);
    let fd: number | undefined;
    try {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fd = fs.openSync(abs, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o644);
      const size = fs.fstatSync(fd).size;
      const keep = endOfLastLine(fd, size);
      if (keep < size) fs.ftruncateSync(fd, keep);
      return new LineLog(file, fd, size - keep);
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      throw invalid(`cannot write ${file}: ${(e as Error).message}`);
    }
  }

  /**
   * Appends `value` as one line of JSON and flushes it to disk.
   * @throws LikenessError E_INPUT naming the file when the write fails (disk full, file system gone).
   */
  write(value: unknown): void {
    if (this.fd === null) throw invalid(`${this.file} is already closed`);
    const bytes = Buffer.from(JSON.stringify(value) + '\n', 'utf8');
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw invalid(`cannot write ${this.file}: ${(e as Error).message}`);
    }
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Offset just past the last newline of the first `size` bytes of `fd` (0 when there is none). */
function endOfLastLine(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}
