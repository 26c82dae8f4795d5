import { spawnSync } from 'child_process';
import * as path from 'path';

/** What {@link jsonCli}'s runner returns: exit status, stdout parsed as JSON (null when it is not JSON), stderr. */
export interface JsonCliResult {
  status: number | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  stderr: string;
}

/** A runner of the `likeness` CLI (bin/likeness.js) with `--db db` appended and `env` as its environment. */
export function jsonCli(db: string, env: NodeJS.ProcessEnv): (...args: string[]) => JsonCliResult {
  const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
  return (...args) => {
    const r = spawnSync(process.execPath, [bin, ...args, '--db', db], { encoding: 'utf8', env, timeout: 600_000 });
    let json: unknown = null;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = null;
    }
    return { status: r.status, json, stderr: r.stderr };
  };
}
