import * as fs from 'fs';
import * as path from 'path';
import { LikenessError } from '../errors';
import { PACKAGE_ROOT } from '../paths';

/** Where a model file comes from. */
export type ModelSource =
  | { kind: 'vendored'; path: string }
  | { kind: 'package'; package: string; version: string; path: string }
  | { kind: 'download'; url: string; bytes: number; file: string }
  | { kind: 'builtin' };

/** One entry of models/manifest.json. */
export interface ModelEntry {
  id: string;
  modality: 'face' | 'voice';
  task: 'detect' | 'landmarks' | 'embed' | 'vad';
  source: ModelSource;
  /** sha256 of the file (hex); absent only for `builtin` models, which have no file. */
  sha256?: string;
  license: { code: string; weights: string };
  provenance: string;
  input: Record<string, unknown>;
  outputDim?: number;
  statedAccuracy?: string;
  /** What the weights were trained on, as far as the source says. */
  trainingData?: string;
  /** Optional model files that belong to this model (TFJS shards), each verified like the main file. */
  extraFiles?: { path: string; sha256: string }[];
  notes?: string;
}

/** The parsed manifest. */
export interface Manifest {
  version: number;
  models: ModelEntry[];
}

let cached: Manifest | undefined;

/** Loads models/manifest.json once. */
export function loadManifest(): Manifest {
  if (cached) return cached;
  const file = path.join(PACKAGE_ROOT, 'models', 'manifest.json');
  try {
    cached = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    throw new LikenessError('E_MODEL', `cannot read the model manifest at ${file}: reinstall likeness-guard`, undefined, {
      cause: e,
    });
  }
  return cached;
}

/** The manifest entry for `id`, or E_MODEL naming the known ids. */
export function modelEntry(id: string): ModelEntry {
  const m = loadManifest().models.find((e) => e.id === id);
  if (!m) {
    const ids = loadManifest().models.map((e) => e.id).join(', ');
    throw new LikenessError('E_MODEL', `unknown model id "${id}"; known models: ${ids}`, { model: id });
  }
  return m;
}
