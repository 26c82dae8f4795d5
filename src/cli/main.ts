import * as fs from 'fs';
import * as path from 'path';
import { isLikenessError } from '../errors';
import { PACKAGE_ROOT } from '../paths';
import { HelpRequested } from './args';
import { processIO, type CommandHandler, type CommandIO } from './command';
import { audioCommands } from './commands-audio';
import { faceCommands } from './commands-face';
import { jobCommands } from './commands-jobs';
import { modelCommands } from './commands-models';
import { voiceCommands } from './commands-voice';
import { registryCommands } from './commands-registry';
import { scanCommands } from './commands-scan';

/** Every CLI command by its words (`scan`, `eval faces`). */
export const commands: Readonly<Record<string, CommandHandler>> = {
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

Run \`likeness help COMMAND\` or \`likeness COMMAND --help\` for every option of a command;
\`likeness --version\` for the version. From a clone: \`npm install && npx likeness ...\`.`;

/** The package's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

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
  const io: CommandIO = processIO();
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    io.out(`${packageVersion()}\n`);
    process.exitCode = 0;
    return;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || (argv[0] === 'help' && argv.length === 1)) {
    io.out(USAGE + '\n');
    process.exitCode = argv.length === 0 ? 1 : 0;
    return;
  }
  // `likeness help COMMAND` is `likeness COMMAND --help`.
  const asked = argv[0] === 'help' ? [...argv.slice(1), '--help'] : argv;
  const r = route(asked);
  if (!r) {
    io.err(`likeness: unknown command "${asked.slice(0, 2).join(' ')}"\n\n${USAGE}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    process.exitCode = await r.handler(r.rest, io);
  } catch (e) {
    if (e instanceof HelpRequested) {
      io.out(e.text + '\n');
      process.exitCode = 0;
      return;
    }
    if (isLikenessError(e)) {
      io.err(`likeness: ${e.code}: ${e.message}\n`);
    } else {
      io.err(`likeness: unexpected error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    }
    process.exitCode = 1;
  }
}
