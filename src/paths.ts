import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LikenessError } from './errors';

// Where the package and the user's data live. A root module (like errors.ts) because every floor needs one of them:
// kernels find the addon, models find their files, the store and calibrations find the data folder.

/** Root of the installed package (where models/, binding.gyp and package.json live). */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'models', 'manifest.json')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(start, '..', '..');
    dir = up;
  }
}

/** The folder for the store, installed models and calibrations: `$LIKENESS_HOME`, else the XDG data folder. */
export function dataHome(): string {
  if (process.env.LIKENESS_HOME) return process.env.LIKENESS_HOME;
  const xdg = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(xdg, 'likeness-guard');
}

/** sha256 of a file, hex, read in 1 MiB chunks (bounded memory; media and models are identified by content). */
export function sha256FileSync(file: string): string {
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

/**
 * sha256 of a file, hex, read in 1 MiB blocks without blocking the event loop; stops with E_ABORTED when `signal`
 * fires. Callers that take paths from users check the path first (media/gate.ts): opening a FIFO blocks.
 */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const h = crypto.createHash('sha256');
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      if (signal?.aborted) throw new LikenessError('E_ABORTED', `hashing ${file} was aborted`, { file });
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}
