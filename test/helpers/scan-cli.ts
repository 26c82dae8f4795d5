// The scan command run in-process, for tests that check what it prints and writes.
import { scanCommands } from '../../src/cli/commands-scan';
import type { CommandIO } from '../../src/cli/command';

/** Runs `likeness scan ARGS --db DB` in-process and captures what it prints. */
export async function scanCli(db: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false, status: () => undefined };
  const code = await scanCommands.scan!([...args, '--db', db], io);
  return { code, out, err };
}
