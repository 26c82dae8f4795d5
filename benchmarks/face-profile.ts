/**
 * Where the face pipeline's time goes: per-stage wall and process-CPU ms per image for a preset, on the images
 * bench:face uses (decode of the file, each ONNX model's runs, and everything else: letterbox, crops, alignment,
 * decoding of the outputs, quality).
 *
 * Usage: node -r @swc-node/register benchmarks/face-profile.ts [--preset accurate|fast] [--images N] [--json]
 */
import * as path from 'path';
import type { InferenceSession } from 'onnxruntime-node';
import { FaceAnalyzer, type FacePreset } from '../src/face/analyzer';
import { decodeImage } from '../src/media/image';
import { ortSession } from '../src/models/ort';
import type { RgbImage } from '../src/types';
import { argValue, evalFacesRoot, median, packageSampleImages, readCsvRows, round, spread } from './face-data';

const MODELS = ['mediapipe-blazeface-back', 'mediapipe-facemesh', 'faceplugin-mfn512-int8', 'faceplugin-mfn512', 'faceplugin-detect', 'faceplugin-landmark68'];

interface Acc {
  wallMs: number;
  cpuMs: number;
  runs: number;
}

const cpuNow = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const preset = (argValue(argv, '--preset') ?? 'accurate') as FacePreset;
  const n = Number(argValue(argv, '--images') ?? 40);
  const root = evalFacesRoot();
  const files = root ? spread(readCsvRows(path.join(root, 'identities.csv')), n).map((r) => path.join(root, r.file)) : packageSampleImages().slice(0, n);
  const acc: Record<string, Acc> = {};
  const add = (k: string, wall: number, cpu: number): void => {
    const a = (acc[k] ??= { wallMs: 0, cpuMs: 0, runs: 0 });
    a.wallMs += wall;
    a.cpuMs += cpu;
    a.runs++;
  };
  for (const id of MODELS) {
    const s = (await ortSession(id)) as InferenceSession & { run: InferenceSession['run'] };
    const run = s.run.bind(s);
    s.run = (async (...args: Parameters<InferenceSession['run']>) => {
      const t = performance.now(), c = cpuNow();
      const r = await run(...args);
      add(`onnx ${id}`, performance.now() - t, cpuNow() - c);
      return r;
    }) as InferenceSession['run'];
  }
  const images: RgbImage[] = [];
  for (const f of files) {
    const t = performance.now(), c = cpuNow();
    images.push(await decodeImage(f));
    add('decode (file -> RGB, not in bench:face)', performance.now() - t, cpuNow() - c);
  }
  delete acc['decode (file -> RGB, not in bench:face)'];
  const fa = await FaceAnalyzer.create({ preset });
  for (let i = 0; i < 3; i++) await fa.analyzeRgb(images[i % images.length]!);
  for (const k of Object.keys(acc)) delete acc[k];
  for (const f of files.slice(0, 0)) void f;
  const totals: number[] = [];
  let faces = 0;
  for (const f of files) {
    const t = performance.now(), c = cpuNow();
    await decodeImage(f);
    add('decode (file -> RGB, not in bench:face)', performance.now() - t, cpuNow() - c);
  }
  const t0 = performance.now(), c0 = cpuNow();
  for (const img of images) {
    const t = performance.now();
    faces += (await fa.analyzeRgb(img)).length;
    totals.push(performance.now() - t);
  }
  const wall = performance.now() - t0, cpu = cpuNow() - c0;
  const modelWall = MODELS.reduce((s, id) => s + (acc[`onnx ${id}`]?.wallMs ?? 0), 0);
  const modelCpu = MODELS.reduce((s, id) => s + (acc[`onnx ${id}`]?.cpuMs ?? 0), 0);
  const per = (x: number): number => round(x / images.length, 2);
  const stages: Record<string, { wallMsPerImage: number; cpuMsPerImage: number; runsPerImage: number; cpuMsPerRun: number }> = {};
  for (const [k, a] of Object.entries(acc)) stages[k] = { wallMsPerImage: per(a.wallMs), cpuMsPerImage: per(a.cpuMs), runsPerImage: per(a.runs), cpuMsPerRun: round(a.cpuMs / a.runs, 2) };
  stages['other (pre/post-processing, crops, quality)'] = { wallMsPerImage: per(wall - modelWall), cpuMsPerImage: per(cpu - modelCpu), runsPerImage: 1, cpuMsPerRun: per(cpu - modelCpu) };
  const out = { preset, images: images.length, faces, meanPixels: Math.round(images.reduce((s, i) => s + i.width * i.height, 0) / images.length), medianMs: round(median(totals), 2), totalWallMsPerImage: per(wall), totalCpuMsPerImage: per(cpu), stages };
  process.stdout.write(JSON.stringify(out, null, argv.includes('--json') ? 0 : 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`face-profile failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
