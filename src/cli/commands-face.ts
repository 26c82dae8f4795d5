import { FaceAnalyzer, FacePreset } from '../face/analyzer';
import { FACEPLUGIN_EMBEDDERS, FacepluginEmbedder } from '../face/faceplugin';
import { evalFacePairs } from '../eval/face-eval';
import { LikenessError, internalError } from '../errors';
import { oneOf, invalid } from '../validate';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFrom, parseCommandArgs, required } from './args';
import { CommandHandler, printJson } from './command';

const FACES_USAGE = `likeness faces IMAGE... [--embeddings] [--preset accurate|fast] ${LIMIT_USAGE}`;
const EVAL_USAGE = 'likeness eval faces --pairs FILE.csv --root DIR [--model ID|--preset P] [--json]';

/** Maps `--model` (a preset name or an embedder id) to a preset. */
function presetFrom(model: string | undefined, preset: string | undefined): FacePreset {
  if (preset) return oneOf('--preset', preset, ['accurate', 'fast'] as const);
  if (!model || model === FACEPLUGIN_EMBEDDERS.int8 || model === FACEPLUGIN_EMBEDDERS.float32) return 'accurate';
  return oneOf('--model', model, ['accurate', 'fast', FACEPLUGIN_EMBEDDERS.int8, FACEPLUGIN_EMBEDDERS.float32] as const) as FacePreset;
}

const faces: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, {
    embeddings: { type: 'boolean' },
    preset: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    ...LIMIT_OPTIONS,
  }, FACES_USAGE);
  if (values.help) {
    io.out(FACES_USAGE + '\n');
    return 0;
  }
  if (positionals.length === 0) throw invalid(`no image given\nusage: ${FACES_USAGE}`);
  const limits = limitsFrom(values);
  const fa = await FaceAnalyzer.create({ preset: presetFrom(undefined, values.preset), limits });
  const results: unknown[] = [];
  let failed = 0;
  for (const file of positionals) {
    try {
      const r = await fa.analyze(file);
      results.push({
        file,
        width: r.width,
        height: r.height,
        model: fa.modelId,
        faces: r.faces.map((f) => ({
          box: roundBox(f.detection.box),
          landmarks: f.detection.landmarks.map(([x, y]) => [round(x), round(y)]),
          score: round(f.detection.score, 4),
          quality: f.quality,
          ...(values.embeddings ? { embedding: Array.from(f.embedding, (v) => round(v, 6)) } : {}),
        })),
      });
    } catch (e) {
      // One image's failure is its entry; the others go on (a bug is E_INTERNAL naming the file).
      const err = internalError(e, file);
      failed++;
      results.push({ file, error: { code: err.code, message: err.message } });
    }
  }
  printJson(io, { results });
  return failed ? 2 : 0;
};

const evalFaces: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(args, {
    pairs: { type: 'string' },
    root: { type: 'string' },
    model: { type: 'string' },
    preset: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, EVAL_USAGE);
  if (values.help) {
    io.out(EVAL_USAGE + '\n');
    return 0;
  }
  const pairs = required(values.pairs, 'pairs', EVAL_USAGE);
  const root = required(values.root, 'root', EVAL_USAGE);
  const preset = presetFrom(values.model, values.preset);
  // `--model faceplugin-mfn512`: the default preset with the float32 embedder (the int8 one's reference).
  const float32 = values.model === FACEPLUGIN_EMBEDDERS.float32 && !values.preset;
  const fa = await FaceAnalyzer.create({ preset, ...(float32 ? { embedder: new FacepluginEmbedder({ precision: 'float32', flip: true }) } : {}) });
  const progress = io.isTTY ? (d: number, t: number) => io.status(`${d}/${t} images`) : undefined;
  const { scores: _scores, ...r } = await evalFacePairs(fa, pairs, root, progress);
  if (io.isTTY) io.err('\n');
  printJson(io, { ...r, preset });
  return 0;
};

function round(v: number, d = 2): number {
  const k = 10 ** d;
  return Math.round(v * k) / k;
}

function roundBox(b: { x: number; y: number; w: number; h: number }) {
  return { x: round(b.x), y: round(b.y), w: round(b.w), h: round(b.h) };
}

/** Face commands: `faces`, `eval faces`. */
export const faceCommands: Record<string, CommandHandler> = {
  faces,
  'eval faces': evalFaces,
};
