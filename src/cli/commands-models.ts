
import { addModel, listModels, pullModel } from '../models/store';
import type { CommandHandler } from './command';
import { printJson } from './command';
import { invalid } from '../validate';
import { parseCommandArgs } from './args';

const HELP = {
  list: 'likeness models list [--no-verify]\n  Every model of the manifest: verified, present, missing or mismatch, and how to fix it.',
  pull: 'likeness models pull ID [--force]\n  Downloads model ID, checks size and sha256, installs it into the user model directory.',
  add: 'likeness models add FILE --as ID\n  Imports a model file brought by hand (offline machines) after checking size and sha256.',
};

const list: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, { 'no-verify': { type: 'boolean' }, json: { type: 'boolean' } }, HELP.list);
  if (positionals.length) throw invalid(`unexpected argument ${positionals[0]}\nusage: ${HELP.list.split('\n')[0]}`);
  const models = listModels({ verify: !values['no-verify'] });
  printJson(io, { models });
  return models.some((m) => m.state === 'mismatch') ? 2 : 0;
};

const pull: CommandHandler = async (args, io) => {
  const { values, positionals: ids } = parseCommandArgs(args, { force: { type: 'boolean' }, json: { type: 'boolean' } }, HELP.pull);
  if (ids.length !== 1) throw invalid(`usage: ${HELP.pull.split('\n')[0]}`);
  let lastPct = -1;
  const r = await pullModel(ids[0]!, {
    force: values.force ?? false,
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
  const { values, positionals: files } = parseCommandArgs(args, { as: { type: 'string' }, json: { type: 'boolean' } }, HELP.add);
  const id = values.as;
  if (!id || files.length !== 1) throw invalid(`usage: ${HELP.add.split('\n')[0]}`);
  printJson(io, addModel(files[0]!, id));
  return 0;
};

/** `likeness models list | pull ID | add FILE --as ID`. */
export const modelCommands: Record<string, CommandHandler> = {
  'models list': list,
  'models pull': pull,
  'models add': add,
};
