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
