import { isLikenessError } from '../errors';
import type { CommandHandler, CommandIO } from './command';
import { audioCommands } from './commands-audio';
import { faceCommands } from './commands-face';
import { jobCommands } from './commands-jobs';
import { modelCommands } from './commands-models';
import { voiceCommands } from './commands-voice';
import { registryCommands } from './commands-registry';
import { scanCommands } from './commands-scan';

const commands: Record<string, CommandHandler> = {
  ...faceCommands,
  ...audioCommands,
  ...voiceCommands,
  ...modelCommands,
  ...registryCommands,
  ...scanCommands,
  ...jobCommands,
};

const USAGE = `likeness — protect performers' faces and voices

Commands:
${Object.keys(commands)
  .sort()
  .map((c) => `  likeness ${c}`)
  .join('\n')}

Run \`likeness COMMAND --help\` for a command's options.`;

/** Finds the handler for the longest matching command prefix ("eval faces" before "eval"). */
function route(argv: string[]): { handler: CommandHandler; rest: string[] } | undefined {
  for (let n = Math.min(2, argv.length); n >= 1; n--) {
    const key = argv.slice(0, n).join(' ');
    if (Object.hasOwn(commands, key)) return { handler: commands[key]!, rest: argv.slice(n) };
  }
  return undefined;
}

/** CLI entry: runs one command and sets the exit code (0 done, 2 done with some inputs failed, 1 failed). */
export async function main(argv: string[]): Promise<void> {
  const io: CommandIO = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
  };
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(USAGE + '\n');
    process.exitCode = argv.length === 0 ? 1 : 0;
    return;
  }
  const r = route(argv);
  if (!r) {
    io.err(`likeness: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${USAGE}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    process.exitCode = await r.handler(r.rest, io);
  } catch (e) {
    if (isLikenessError(e)) {
      io.err(`likeness: ${e.code}: ${e.message}\n`);
    } else {
      io.err(`likeness: unexpected error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    }
    process.exitCode = 1;
  }
}
