import type { InferenceSession } from 'onnxruntime-node';
import { LikenessError } from '../errors';
import { resolveModelFile } from './registry';

/** Options for ONNX Runtime sessions. One intra-op thread measured fastest for our small models on 2 cores. */
export interface SessionOptions {
  intraOpThreads?: number;
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
  const threads = opts.intraOpThreads ?? 1;
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
export async function ortSessionFromFile(file: string, threads = 1): Promise<InferenceSession> {
  try {
    return await ort().InferenceSession.create(file, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new LikenessError('E_MODEL', `cannot load ONNX model ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
}

async function createSession(modelId: string, threads: number): Promise<InferenceSession> {
  const file = resolveModelFile(modelId);
  return ortSessionFromFile(file, threads);
}
