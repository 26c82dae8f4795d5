/**
 * Cross-validation over identities of the default preset's tuned choices (issue 14): the small-face blur (eye
 * distance threshold and sigma), the grey border for small images (detector), and mirror averaging.
 *
 * Identities of ../shared/eval/faces/identities.csv are split in two halves (alternating in sorted order, so both
 * halves mix the source collections); a pair belongs to a half when every identity it involves is in that half
 * (degraded copies take the identity of their original). Each choice is picked on one half by TAR at FAR 1e-3 on
 * pairs-degraded.csv (ties keep the shipped value) and reported on the other half, both ways. A choice is kept when it
 * wins on both halves; otherwise the table shows what each half would pick and what that scores on the other.
 * Choices are varied one at a time around the shipped settings (a full grid is 10x the cost for the same verdicts).
 *
 * Usage: node -r @swc-node/register benchmarks/face-cv.ts [--json] [--list pairs-degraded.csv]
 */
import * as path from 'path';
import { largestFace } from '../src/kernels/geometry';
import { FallbackDetector } from '../src/face/fallback';
import { FACEPLUGIN_EMBEDDERS, FacepluginDetector, alignArcFace } from '../src/face/faceplugin';
import { MeshDetector } from '../src/face/mesh';
import { gaussianBlurRgb, toNchw } from '../src/kernels/image';
import { decodeImage } from '../src/media/image';
import { verificationMetrics } from '../src/eval/metrics';
import { ort, ortSession } from '../src/models/ort';
import type { FaceDetection, RgbImage } from '../src/types';
import { argValue, evalFacesRoot, readCsvRows, round } from './face-data';
import { normaliseInPlace } from '../src/kernels/vector';

/** One setting of the three choices. */
interface Setting {
  padRatio: number;
  blurIod: number;
  sigma: number;
  flip: boolean;
}

const SHIPPED: Setting = { padRatio: 1, blurIod: 30, sigma: 1.4, flip: true };

/** The alternatives tried for each choice, one at a time around the shipped settings. */
const CHOICES: { name: string; values: Partial<Setting>[] }[] = [
  { name: 'detector border (padRatio, images <= 200 px)', values: [{ padRatio: 0.25 }, { padRatio: 0.5 }, { padRatio: 1 }, { padRatio: 1.5 }] },
  { name: 'small-face blur threshold (eye distance px)', values: [{ blurIod: 0 }, { blurIod: 20 }, { blurIod: 30 }, { blurIod: 40 }, { blurIod: 60 }] },
  { name: 'small-face blur sigma', values: [{ sigma: 0.7 }, { sigma: 1 }, { sigma: 1.4 }, { sigma: 2 }] },
  { name: 'mirror averaging', values: [{ flip: true }, { flip: false }] },
];

const SIGMAS = [0.7, 1, 1.4, 2];

interface Pair {
  a: string;
  b: string;
  same: boolean;
  ids: string[];
}

/** Per image and border: the detection and the unit embeddings of each view, computed once. */
interface ImageViews {
  iod: number;
  /** key `${sigma}|${flip}` (sigma 0 = no blur) -> unit embedding of that view. */
  views: Map<string, Float32Array>;
}

function originalOf(file: string): string {
  const m = /^degraded\/[^/]+\/(.*)$/.exec(file);
  return m ? m[1]! : file;
}

async function embedView(crop: RgbImage, flip: boolean): Promise<Float32Array> {
  const s = await ortSession(FACEPLUGIN_EMBEDDERS.int8);
  const input = new Float32Array(3 * 112 * 112);
  toNchw(crop, 127, 128, input, 0, flip);
  const T = ort().Tensor;
  const r = await s.run({ input: new T('float32', input, [1, 3, 112, 112]) });
  return normaliseInPlace(Float32Array.from(r.output!.data as Float32Array));
}

async function viewsOf(img: RgbImage, d: FaceDetection): Promise<ImageViews> {
  const crop = alignArcFace(img, d.landmarks);
  const iod = Math.hypot(d.landmarks[1][0] - d.landmarks[0][0], d.landmarks[1][1] - d.landmarks[0][1]);
  const views = new Map<string, Float32Array>();
  for (const flip of [false, true]) views.set(`0|${flip}`, await embedView(crop, flip));
  // Blurred views only matter for faces a threshold could call small.
  if (iod < 60) {
    for (const s of SIGMAS) {
      const b = gaussianBlurRgb(crop, s);
      for (const flip of [false, true]) views.set(`${s}|${flip}`, await embedView(b, flip));
    }
  }
  return { iod, views };
}

function embeddingFor(v: ImageViews, s: Setting): Float32Array {
  const sigma = v.iod < s.blurIod ? s.sigma : 0;
  const acc = new Float32Array(512);
  for (const flip of s.flip ? [false, true] : [false]) {
    const e = v.views.get(`${sigma}|${flip}`)!;
    for (let i = 0; i < 512; i++) acc[i]! += e[i]!;
  }
  return normaliseInPlace(acc);
}

function tarAt1e3(pairs: Pair[], emb: (f: string) => Float32Array | undefined): number {
  const genuine: number[] = [], impostor: number[] = [];
  for (const p of pairs) {
    const a = emb(p.a), b = emb(p.b);
    let score = -1;
    if (a && b) {
      score = 0;
      for (let i = 0; i < 512; i++) score += a[i]! * b[i]!;
    }
    (p.same ? genuine : impostor).push(score);
  }
  return verificationMetrics(genuine, impostor).tarAtFar['1e-3']!;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const root = evalFacesRoot();
  if (!root) {
    console.log(JSON.stringify({ skipped: '../shared/eval/faces is absent' }));
    return;
  }
  const identity = new Map<string, string>();
  for (const r of readCsvRows(path.join(root, 'identities.csv'))) identity.set(r.file!, r.identity!);
  const list = argValue(argv, '--list') ?? 'pairs-degraded.csv';
  const pairs: Pair[] = [];
  for (const r of readCsvRows(path.join(root, list))) {
    const ids = [identity.get(originalOf(r.fileA!)), identity.get(originalOf(r.fileB!))];
    if (ids.some((x) => x === undefined)) continue;
    pairs.push({ a: r.fileA!, b: r.fileB!, same: r.same === '1', ids: ids as string[] });
  }
  const allIds = [...new Set(pairs.flatMap((p) => p.ids))].sort();
  const half = new Map(allIds.map((id, i) => [id, i % 2] as const));
  const folds = [0, 1].map((h) => pairs.filter((p) => p.ids.every((id) => half.get(id) === h)));
  const files = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];

  // Detections per border, then every view's embedding, once per image. The border only applies to images of
  // 200 px or less on a side, so other images reuse the shipped border's results.
  const views = new Map<number, Map<string, ImageViews | undefined>>();
  const borders = CHOICES[0]!.values.map((v) => v.padRatio!);
  // The shipped border first: the other borders reuse its results for images the border does not apply to.
  for (const padRatio of [SHIPPED.padRatio, ...borders.filter((b) => b !== SHIPPED.padRatio)]) {
    const det = new FallbackDetector([new MeshDetector({ padRatio }), new FacepluginDetector({ tiles: true, retry: true })]);
    const byFile = new Map<string, ImageViews | undefined>();
    for (const f of files) {
      const img = await decodeImage(path.join(root, f));
      if (padRatio !== SHIPPED.padRatio && img.width > 200 && img.height > 200) {
        byFile.set(f, views.get(SHIPPED.padRatio)!.get(f));
        continue;
      }
      const d = largestFace(await det.detect(img));
      byFile.set(f, d ? await viewsOf(img, d) : undefined);
    }
    views.set(padRatio, byFile);
  }
  const score = (s: Setting, fold: number): number => {
    const byFile = views.get(s.padRatio)!;
    return tarAt1e3(folds[fold]!, (f) => {
      const v = byFile.get(f);
      return v ? embeddingFor(v, s) : undefined;
    });
  };

  const table = [];
  for (const choice of CHOICES) {
    const picks = [0, 1].map((fold) => {
      let best = { ...SHIPPED }, bestScore = score(SHIPPED, fold);
      for (const v of choice.values) {
        const s = { ...SHIPPED, ...v };
        const t = score(s, fold);
        if (t > bestScore) {
          best = s;
          bestScore = t;
        }
      }
      return { chosenOn: fold, value: choice.values.find((v) => Object.entries(v).every(([k, x]) => best[k as keyof Setting] === x)) ?? {}, tuneTar: round(bestScore, 4), heldOutTar: round(score(best, 1 - fold), 4), shippedHeldOutTar: round(score(SHIPPED, 1 - fold), 4) };
    });
    const sameBoth = JSON.stringify(picks[0]!.value) === JSON.stringify(picks[1]!.value);
    table.push({ choice: choice.name, values: choice.values, picks, keep: sameBoth ? picks[0]!.value : 'halves disagree: keep the shipped value' });
  }
  const out = {
    list,
    identities: allIds.length,
    pairsPerHalf: folds.map((f) => ({ pairs: f.length, genuine: f.filter((p) => p.same).length })),
    shipped: SHIPPED,
    shippedTarPerHalf: [0, 1].map((h) => round(score(SHIPPED, h), 4)),
    table,
  };
  console.log(argv.includes('--json') ? JSON.stringify(out) : JSON.stringify(out, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
