import { decodeAudio } from '../media/audio';
import { LikenessError } from '../errors';
import { int, num, oneOf } from '../validate';
import { fbank, type FbankWindow } from '../kernels/fbank';
import { parseCommandArgs } from './args';
import type { CommandHandler, CommandIO } from './command';

const FBANK_USAGE = 'likeness fbank AUDIO [--json] [--start S] [--duration S] [--window povey|hamming|hanning|rectangular|blackman] [--bins N]';
const FBANK_HELP = `${FBANK_USAGE}
  Kaldi-compatible log-mel filterbank (80 bins, 25 ms / 10 ms, povey window, as WeSpeaker and 3D-Speaker use) of the
  file decoded to 16 kHz mono. Prints raw log-mel values, no mean normalisation.
  --json        print {frames, bins, data: number[][]} (else a one-line summary)
  --start S     begin at S seconds; --duration S: only S seconds
  --window W    window function (default povey); --bins N: mel bins (default 80)`;

/** Rows per write: keeps an hour of features (360k rows) from becoming one giant string. */
const ROWS_PER_WRITE = 500;

const fbankCommand: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      start: { type: 'string' },
      duration: { type: 'string' },
      window: { type: 'string' },
      bins: { type: 'string' },
    },
    FBANK_USAGE,
  );
  if (values.help) {
    io.out(FBANK_HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new LikenessError('E_INPUT', `give exactly one audio file\nusage: ${FBANK_USAGE}`);
  const start = values.start === undefined ? undefined : num('--start', Number(values.start), 0, 1e7);
  const duration = values.duration === undefined ? undefined : num('--duration', Number(values.duration), 0.001, 1e7);
  const window = values.window === undefined ? undefined : oneOf<FbankWindow>('--window', values.window, ['povey', 'hamming', 'hanning', 'rectangular', 'blackman']);
  const numBins = values.bins === undefined ? undefined : int('--bins', Number(values.bins), 4, 512);
  const file = positionals[0];
  const audio = await decodeAudio(file, { start, duration });
  const fb = fbank(audio.samples, { window, numBins });
  if (values.json) writeJson(io, fb.frames, fb.bins, fb.data);
  else io.out(`${file}: ${fb.frames} frames x ${fb.bins} bins from ${(audio.samples.length / audio.sampleRate).toFixed(2)} s of 16 kHz audio\n`);
  return 0;
};

/** Writes `{frames, bins, data}` in pieces; numbers are the float32 values, printed exactly. */
function writeJson(io: CommandIO, frames: number, bins: number, data: Float32Array): void {
  io.out(`{"frames":${frames},"bins":${bins},"data":[`);
  for (let f0 = 0; f0 < frames; f0 += ROWS_PER_WRITE) {
    const rows: string[] = [];
    for (let f = f0; f < Math.min(frames, f0 + ROWS_PER_WRITE); f++) rows.push(JSON.stringify(Array.from(data.subarray(f * bins, (f + 1) * bins))));
    io.out((f0 > 0 ? ',' : '') + rows.join(','));
  }
  io.out(']}\n');
}

/** Audio commands: `fbank`. */
export const audioCommands: Record<string, CommandHandler> = {
  fbank: fbankCommand,
};
