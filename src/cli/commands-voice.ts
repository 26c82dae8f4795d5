import { evalVoiceTrials } from '../eval/voice-eval';
import { oneOf } from '../validate';
import { BASELINE_NOTICE, VoiceEmbedder } from '../voice/embed';
import type { VadMethod } from '../voice/vad';
import { parseCommandArgs, required } from './args';
import type { CommandHandler } from './command';
import { printJson } from './command';

const EVAL_USAGE = 'likeness eval voices --trials FILE.csv --root DIR [--model ID] [--vad silero|energy] [--json]';

const evalVoices: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(
    args,
    {
      trials: { type: 'string' },
      root: { type: 'string' },
      model: { type: 'string' },
      vad: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    EVAL_USAGE,
  );
  if (values.help) {
    io.out(EVAL_USAGE + '\n');
    return 0;
  }
  const trials = required(values.trials, 'trials', EVAL_USAGE);
  const root = required(values.root, 'root', EVAL_USAGE);
  const vad: VadMethod = oneOf('--vad', values.vad ?? 'silero', ['silero', 'energy'] as const);
  const embedder = await VoiceEmbedder.create({ ...(values.model ? { model: values.model } : {}), vad });
  if (embedder.isBaseline) io.err(`${BASELINE_NOTICE}\n`);
  const progress = io.isTTY ? (d: number, t: number) => io.status(`${d}/${t} files`) : undefined;
  const { scores: _scores, ...r } = await evalVoiceTrials(embedder, trials, root, progress);
  if (io.isTTY) io.err('\n');
  printJson(io, r);
  return 0;
};

/** Voice commands: `eval voices`. */
export const voiceCommands: Record<string, CommandHandler> = {
  'eval voices': evalVoices,
};
