/**
 * Face pipeline speed: our presets vs @vladmandic/human (detect + describe) vs @vladmandic/face-api (SSD + 68
 * landmarks + descriptor), on the same decoded images, one image at a time, warm, decode excluded for all.
 *
 * Usage: npm run bench:face -- [--json] [--images N] [--warmup N] [--skip-faceapi]
 * Images: N spread over ../shared/eval/faces/identities.csv when present, else face-api's shipped sample photos.
 */
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_FACE_PRESET, FaceAnalyzer } from '../src/face/analyzer';
import { HumanDetector, humanDetectAndDescribe } from './human-peer';
import { decodeImage } from '../src/media/image';
import type { RgbImage } from '../src/types';
import { faceApiPeer } from './faceapi';
import { argValue, evalFacesRoot, median, packageSampleImages, readCsvRows, round, spread } from './face-data';

/** One pipeline under test: analyses one decoded image and says how many faces it found. */
interface Pipeline {
  name: string;
  run(image: RgbImage): Promise<number>;
}

/** Timing summary of one pipeline. */
export interface PipelineTiming {
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  /** Faces found over all images (a sanity check that the pipelines did comparable work). */
  faces: number;
  /** Images where the pipeline threw. */
  errors: number;
  /** Median process CPU time per image (all threads), which other work on a shared machine disturbs far less. */
  medianCpuMs: number;
}

/** What the benchmark prints. */
export interface FaceBenchResult {
  images: number;
  source: string;
  warmup: number;
  meanPixels: number;
  pipelines: Record<string, PipelineTiming>;
  /** Pipelines that could not run, with the reason. */
  unavailable?: Record<string, string>;
  /** The preset FaceAnalyzer.create() uses by default. */
  defaultPreset: string;
  /** Human ms / ours, per preset. */
  ratioVsHuman: Record<string, number>;
  /** Human CPU ms / ours, per preset (the same ratio on CPU time instead of wall time). */
  ratioVsHumanCpu: Record<string, number>;
  /** face-api ms / ours, per preset. */
  ratioVsFaceApi: Record<string, number>;
  machine: { cpus: number; cpu: string; node: string };
}

function pickImages(n: number): { files: string[]; source: string } {
  const root = evalFacesRoot();
  if (root) {
    const rows = readCsvRows(path.join(root, 'identities.csv'));
    return { files: spread(rows, n).map((r) => path.join(root, r.file)), source: '../shared/eval/faces/identities.csv' };
  }
  return { files: packageSampleImages().slice(0, n), source: '@vladmandic/face-api demo/sample*.jpg (MIT package)' };
}

async function buildPipelines(skipFaceApi: boolean, unavailable: Record<string, string>): Promise<Pipeline[]> {
  const accurate = await FaceAnalyzer.create({ preset: 'accurate' });
  const fast = await FaceAnalyzer.create({ preset: 'fast' });
  const humanPlusOurs = await FaceAnalyzer.create({ preset: 'fast', detector: new HumanDetector() });
  const pipes: Pipeline[] = [
    { name: 'ours-accurate', run: async (img) => (await accurate.analyzeRgb(img)).length },
    { name: 'ours-fast', run: async (img) => (await fast.analyzeRgb(img)).length },
    { name: 'human', run: async (img) => (await humanDetectAndDescribe(img)).length },
    { name: 'human-detector+faceplugin-embedder', run: async (img) => (await humanPlusOurs.analyzeRgb(img)).length },
  ];
  if (!skipFaceApi) {
    try {
      const fa = await faceApiPeer();
      pipes.push({ name: 'faceapi', run: async (img) => (await fa.run(img, 'ssd', true)).length });
    } catch (e) {
      unavailable.faceapi = e instanceof Error ? e.message : String(e);
    }
  }
  return pipes;
}

/** Warm-up runs; a pipeline whose first run fails (model missing, peer not installed) is reported, not timed. */
async function warmUp(pipes: Pipeline[], images: RgbImage[], n: number, unavailable: Record<string, string>): Promise<Pipeline[]> {
  const ok: Pipeline[] = [];
  for (const p of pipes) {
    try {
      for (let i = 0; i < Math.max(1, n); i++) await p.run(images[i % images.length]);
      ok.push(p);
    } catch (e) {
      unavailable[p.name] = e instanceof Error ? e.message : String(e);
    }
  }
  return ok;
}

/** Runs the benchmark; `{skipped}` when no images are available. */
export async function runFaceBench(argv: string[]): Promise<FaceBenchResult | { skipped: string }> {
  const n = Number(argValue(argv, '--images') ?? 40);
  const warmup = Number(argValue(argv, '--warmup') ?? 3);
  const { files, source } = pickImages(n);
  if (files.length === 0) return { skipped: 'no images: ../shared/eval/faces is absent and @vladmandic/face-api sample photos are not installed' };
  const images: RgbImage[] = [];
  for (const f of files) images.push(await decodeImage(f));
  const unavailable: Record<string, string> = {};
  const pipes = await warmUp(await buildPipelines(argv.includes('--skip-faceapi'), unavailable), images, warmup, unavailable);
  const times: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const faces: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const p of pipes) {
    times[p.name] = [];
    cpu[p.name] = [];
    faces[p.name] = 0;
    errors[p.name] = 0;
  }
  // Image-major order: every pipeline sees the same machine load for the same image.
  for (const img of images) {
    for (const p of pipes) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      try {
        faces[p.name] += await p.run(img);
      } catch {
        errors[p.name]++;
      }
      times[p.name].push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu[p.name].push((c.user + c.system) / 1000);
    }
  }
  const pipelines: Record<string, PipelineTiming> = {};
  for (const p of pipes) {
    const t = times[p.name].slice().sort((a, b) => a - b);
    pipelines[p.name] = {
      medianMs: round(median(t)),
      meanMs: round(t.reduce((s, x) => s + x, 0) / t.length),
      p90Ms: round(t[Math.min(t.length - 1, Math.floor(t.length * 0.9))]),
      faces: faces[p.name],
      errors: errors[p.name],
      medianCpuMs: round(median(cpu[p.name].slice().sort((a, b) => a - b))),
    };
  }
  const ratio = (peer: string, key: 'medianMs' | 'medianCpuMs' = 'medianMs'): Record<string, number> => {
    const out: Record<string, number> = {};
    const peerMs = pipelines[peer]?.[key];
    if (peerMs === undefined) return out;
    for (const ours of ['ours-accurate', 'ours-fast', 'human-detector+faceplugin-embedder']) {
      if (pipelines[ours]) out[ours.replace(/^ours-/, '')] = round(peerMs / pipelines[ours][key], 2);
    }
    return out;
  };
  return {
    images: images.length,
    source,
    warmup,
    meanPixels: Math.round(images.reduce((s, i) => s + i.width * i.height, 0) / images.length),
    pipelines,
    ...(Object.keys(unavailable).length ? { unavailable } : {}),
    defaultPreset: DEFAULT_FACE_PRESET,
    ratioVsHuman: ratio('human'),
    ratioVsHumanCpu: ratio('human', 'medianCpuMs'),
    ratioVsFaceApi: ratio('faceapi'),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const res = await runFaceBench(argv);
  if (argv.includes('--json')) process.stdout.write(JSON.stringify(res) + '\n');
  else process.stdout.write(JSON.stringify(res, null, 2) + '\n');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench:face failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
