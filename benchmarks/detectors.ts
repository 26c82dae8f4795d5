/**
 * Face detector recall on ../shared/eval/faces (skips cleanly when absent): for every labelled photo
 * (identities.csv, each has at least one face) and every degraded copy (faces/degraded/<kind>/, the fileB column of
 * pairs-degraded.csv), whether at least one face is found; for hard_cases.csv, how many faces each detector finds.
 *
 * Usage: node -r @swc-node/register benchmarks/detectors.ts [--json] [--limit N] [--detectors a,b] [--list-missed]
 *   [--progress]
 * Detectors: human (BlazeFace + mesh, images <= 200 px get a border of 1x their side), human-pad0.5, human-nopad, faceplugin-accurate (tiles + retry),
 * faceplugin-fast (retry only), faceapi-ssd, faceapi-tiny, and faceapi-ssd-pad / faceapi-tiny-pad (same border as human).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FaceDetector } from '../src/face/detector';
import { FacepluginDetector } from '../src/face/faceplugin';
import { HumanDetector } from './human-peer';
import { decodeImage } from '../src/media/image';
import type { RgbImage } from '../src/types';
import { FaceApiDetector } from './faceapi';
import { argValue, evalFacesRoot, median, readCsvRows, round, spread } from './face-data';

const ALL_DETECTORS = ['human', 'human-pad0.5', 'human-nopad', 'faceplugin-accurate', 'faceplugin-fast', 'faceapi-ssd', 'faceapi-tiny', 'faceapi-ssd-pad', 'faceapi-tiny-pad'] as const;
type DetectorName = (typeof ALL_DETECTORS)[number];

function makeDetector(name: DetectorName): FaceDetector {
  switch (name) {
    case 'human':
      return new HumanDetector();
    case 'human-pad0.5':
      return new HumanDetector({ padRatio: 0.5 });
    case 'human-nopad':
      return new HumanDetector({ padSmall: 0 });
    case 'faceplugin-accurate':
      return new FacepluginDetector({ tiles: true, retry: true });
    case 'faceplugin-fast':
      return new FacepluginDetector({ tiles: false, retry: true });
    case 'faceapi-ssd':
      return new FaceApiDetector('ssd');
    case 'faceapi-tiny':
      return new FaceApiDetector('tiny');
    case 'faceapi-ssd-pad':
      return new FaceApiDetector('ssd', 200);
    case 'faceapi-tiny-pad':
      return new FaceApiDetector('tiny', 200);
  }
}

/** One image to test and the set it belongs to ('clean' or a degradation kind). */
interface Item {
  file: string;
  set: string;
}

/** Per-detector results. */
export interface DetectorResult {
  /** Fraction of images with at least one face found: overall (clean + degraded) and per set. */
  recall: Record<string, number>;
  found: Record<string, number>;
  msPerImage: { median: number; mean: number };
  errors: number;
  /** Faces found on each hard case (file -> count; -1 when the detector threw). */
  hardCases: Record<string, number>;
  missed?: string[];
}

/** What the benchmark prints. */
export interface DetectorBenchResult {
  root: string;
  images: Record<string, number>;
  detectors: Record<string, DetectorResult>;
}

function items(root: string, limit: number): Item[] {
  const clean = readCsvRows(path.join(root, 'identities.csv')).map((r) => ({ file: r.file, set: 'clean' }));
  const byKind = new Map<string, Set<string>>();
  for (const r of readCsvRows(path.join(root, 'pairs-degraded.csv'))) {
    const kind = r.degradation || r.fileB.split('/')[1] || 'degraded';
    if (!byKind.has(kind)) byKind.set(kind, new Set());
    byKind.get(kind)!.add(r.fileB);
  }
  const out: Item[] = spread(clean, limit);
  for (const [kind, files] of byKind) out.push(...spread([...files].sort(), limit).map((file) => ({ file, set: kind })));
  return out;
}

function parseDetectors(argv: string[]): DetectorName[] {
  const v = argValue(argv, '--detectors');
  if (!v) return [...ALL_DETECTORS];
  const names = v.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !(ALL_DETECTORS as readonly string[]).includes(n));
  if (bad.length) throw new Error(`unknown detector(s) ${bad.join(', ')}; known: ${ALL_DETECTORS.join(', ')}`);
  return names as DetectorName[];
}

async function countFaces(det: FaceDetector, img: RgbImage): Promise<{ n: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  try {
    const n = (await det.detect(img)).length;
    return { n, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  } catch {
    return { n: -1, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  }
}

/** Runs the comparison; `{skipped}` when ../shared/eval/faces is absent. */
export async function runDetectorBench(argv: string[]): Promise<DetectorBenchResult | { skipped: string }> {
  const root = evalFacesRoot();
  if (!root) return { skipped: '../shared/eval/faces is absent' };
  const limit = Number(argValue(argv, '--limit') ?? Infinity);
  const names = parseDetectors(argv);
  const list = items(root, limit);
  const hard = readCsvRows(path.join(root, 'hard_cases.csv')).filter((r) => fs.existsSync(path.join(root, r.file)));
  const dets = names.map((n) => ({ name: n, det: makeDetector(n) }));
  const warm = await decodeImage(path.join(root, list[0].file));
  for (const d of dets) await countFaces(d.det, warm);

  const acc = new Map<string, { found: Record<string, number>; ms: number[]; errors: number; missed: string[]; hard: Record<string, number> }>();
  for (const d of dets) acc.set(d.name, { found: {}, ms: [], errors: 0, missed: [], hard: {} });
  const totals: Record<string, number> = {};
  const progress = argv.includes('--progress');
  for (const [i, it] of list.entries()) {
    if (progress && i % 50 === 0) process.stderr.write(`detectors: ${i}/${list.length}\n`);
    totals[it.set] = (totals[it.set] ?? 0) + 1;
    const img = await decodeImage(path.join(root, it.file));
    for (const d of dets) {
      const a = acc.get(d.name)!;
      const { n, ms } = await countFaces(d.det, img);
      a.ms.push(ms);
      if (n < 0) a.errors++;
      if (n > 0) a.found[it.set] = (a.found[it.set] ?? 0) + 1;
      else a.missed.push(it.file);
    }
  }
  for (const h of hard) {
    const img = await decodeImage(path.join(root, h.file));
    for (const d of dets) acc.get(d.name)!.hard[`${h.file} (${h.kind})`] = (await countFaces(d.det, img)).n;
  }

  const total = list.length;
  const detectors: Record<string, DetectorResult> = {};
  for (const d of dets) {
    const a = acc.get(d.name)!;
    const foundAll = Object.values(a.found).reduce((s, x) => s + x, 0);
    const recall: Record<string, number> = { overall: round(foundAll / total, 4) };
    const degradedTotal = total - (totals.clean ?? 0);
    if (degradedTotal > 0) recall.degraded = round((foundAll - (a.found.clean ?? 0)) / degradedTotal, 4);
    for (const set of Object.keys(totals)) recall[set] = round((a.found[set] ?? 0) / totals[set], 4);
    detectors[d.name] = {
      recall,
      found: a.found,
      msPerImage: { median: round(median(a.ms)), mean: round(a.ms.reduce((s, x) => s + x, 0) / a.ms.length) },
      errors: a.errors,
      hardCases: a.hard,
      ...(argv.includes('--list-missed') ? { missed: a.missed } : {}),
    };
  }
  return { root: '../shared/eval/faces', images: totals, detectors };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const res = await runDetectorBench(argv);
  process.stdout.write(JSON.stringify(res, null, argv.includes('--json') ? undefined : 2) + '\n');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`detectors benchmark failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
