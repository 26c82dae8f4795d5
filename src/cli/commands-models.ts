
import { addModel, listModels, pullModel } from '../models/store';
import type { CommandHandler, CommandIO } from './command';
import { printJson } from './command';
import { invalid } from '../validate';

const HELP = {
  list: 'likeness models list [--no-verify]\n  Every model of the manifest: verified, present, missing or mismatch, and how to fix it.',
  pull: 'likeness models pull ID [--force]\n  Downloads model ID, checks size and sha256, installs it into the user model directory.',
  add: 'likeness models add FILE --as ID\n  Imports a model file brought by hand (offline machines) after checking size and sha256.',
};

function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

function rejectUnknown(args: string[], known: string[]): void {
  const bad = args.find((a) => a.startsWith('-') && !known.includes(a));
  if (bad) throw invalid(`unknown option ${bad}`);
}

const list: CommandHandler = async (args, io) => {
  if (wantsHelp(args)) return help(io, HELP.list);
  rejectUnknown(args, ['--no-verify', '--json']);
  const models = listModels({ verify: !args.includes('--no-verify') });
  printJson(io, { models });
  return models.some((m) => m.state === 'mismatch') ? 2 : 0;
};

const pull: CommandHandler = async (args, io) => {
  if (wantsHelp(args)) return help(io, HELP.pull);
  rejectUnknown(args, ['--force', '--json']);
  const ids = args.filter((a) => !a.startsWith('-'));
  if (ids.length !== 1) throw invalid(`usage: ${HELP.pull.split('\n')[0]}`);
  let lastPct = -1;
  const r = await pullModel(ids[0]!, {
    force: args.includes('--force'),
    onProgress: (got, total) => {
      const pct = Math.floor((got / total) * 100);
      if (io.isTTY && pct !== lastPct) io.status(`${ids[0]}: ${pct}%`);
      lastPct = pct;
    },
  });
  if (io.isTTY && lastPct >= 0) io.err('\n');
  printJson(io, r);
  return 0;
};

const add: CommandHandler = async (args, io) => {
  if (wantsHelp(args)) return help(io, HELP.add);
  const i = args.indexOf('--as');
  const id = i >= 0 ? args[i + 1] : undefined;
  const rest = args.filter((_, k) => k !== i && k !== i + 1);
  rejectUnknown(rest, ['--json']);
  const files = rest.filter((a) => !a.startsWith('-'));
  if (!id || files.length !== 1) throw invalid(`usage: ${HELP.add.split('\n')[0]}`);
  printJson(io, addModel(files[0]!, id));
  return 0;
};

function help(io: CommandIO, text: string): number {
  io.out(text + '\n');
  return 0;
}

/** `likeness models list | pull ID | add FILE --as ID`. */
export const modelCommands: Record<string, CommandHandler> = {
  'models list': list,
  'models pull': pull,
  'models add': add,
};
