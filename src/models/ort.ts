import * as os from 'os';
import type { InferenceSession } from 'onnxruntime-node';
import { LikenessError } from '../errors';
import { resolveModelFile } from './registry';

/** Options for ONNX Runtime sessions. */
export interface SessionOptions {
  /** Intra-op threads (default {@link defaultIntraOpThreads}). */
  intraOpThreads?: number;
}

/**
 * Intra-op threads of a session when the caller does not choose: 2 where the machine has 2 cores or more, else 1.
 * onnxruntime-node runs a model synchronously on the JS thread, so with one intra-op thread every face and voice
 * model of a scan runs on that one core while the other waits; a second thread lets each run use both. The pool's
 * threads do not spin between runs (allow_spinning 0): spinning threads took the core from ffmpeg and from the JS
 * thread itself, which is why one thread used to measure fastest (bench:scan with a temporary thread override, one
 * loaded run: 2.9 with spinning, 7.9 without, 6.6 with one thread). Thread count does not change the results (the
 * same embeddings).
 */
export function defaultIntraOpThreads(): number {
  return Math.min(2, Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
}

const sessions = new Map<string, Promise<InferenceSession>>();

type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | undefined;

/** onnxruntime-node, loaded on first use so that importing the library stays cheap. */
export function ort(): Ort {
  if (!ortModule) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ortModule = require('onnxruntime-node') as Ort;
    } catch (e) {
      throw new LikenessError(
        'E_MODEL',
        'onnxruntime-node failed to load; reinstall with ONNXRUNTIME_NODE_INSTALL=skip npm install',
        undefined,
        { cause: e },
      );
    }
  }
  return ortModule;
}

/** One cached session per model id and thread count, created from the verified file. */
export function ortSession(modelId: string, opts: SessionOptions = {}): Promise<InferenceSession> {
  const threads = opts.intraOpThreads ?? defaultIntraOpThreads();
  const key = `${modelId}#${threads}`;
  let s = sessions.get(key);
  if (!s) {
    s = createSession(modelId, threads);
    sessions.set(key, s);
    s.catch(() => sessions.delete(key));
  }
  return s;
}

/** Creates a session from a file path (for models outside the manifest, e.g. tests). */
export async function ortSessionFromFile(file: string, threads = defaultIntraOpThreads()): Promise<InferenceSession> {
  try {
    return await ort().InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Idle pool threads sleep instead of spinning (see defaultIntraOpThreads).
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  } catch (e) {
    throw new LikenessError('E_MODEL', `cannot load ONNX model ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}

async function createSession(modelId: string, threads: number): Promise<InferenceSession> {
  const file = resolveModelFile(modelId);
  return ortSessionFromFile(file, threads);
}
