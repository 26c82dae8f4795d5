import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

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

/** sha256 of a file, hex, streamed without blocking the event loop. */
export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(chunk);
  return h.digest('hex');
}
