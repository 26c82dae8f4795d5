// End-to-end effect of the native core (issue 6), before and after, side by side in one process: the face pipeline
// (ms per image, decode excluded) and the voice pipeline (real-time factor) of this working tree against the same
// pipelines of an earlier commit (default: main when the scan issue was resolved, before the kernels were wired in),
// checked out with `git worktree` next to the repository. Both run on the same decoded inputs, interleaved, so load
// from other work hits both alike. Also checks the results agree (embedding cosine, face counts).
//
// usage: npm run bench:e2e -- [--json] [--before-ref REF | --before DIR] [--rounds N] [--voice-seconds S]
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { argValue, evalFacesRoot, median, packageSampleImages, readCsvRows, round, spread } from './face-data';
import { SENTENCES, VOICES, speak } from './voice-synth';
import { decodeImage } from '../src/media/image';
import type { RgbImage } from '../src/types';
import type * as AnalyzerModule from '../src/face/analyzer';
import type * as EmbedModule from '../src/voice/embed';
import type * as VadModule from '../src/voice/vad';
import { nativeInfo } from '../src/kernels/addon';

/** Main when issue 5 (scanning) was resolved: every kernel existed but no pipeline called them. */
const DEFAULT_BEFORE_REF = '8918347';
const REPO = path.resolve(__dirname, '..');

interface Tree {
  analyzer: typeof AnalyzerModule;
  embed: typeof EmbedModule;
  vad: typeof VadModule;
}

/** A checkout of `ref` beside the repository (reused between runs), sharing this tree's node_modules. */
function checkout(ref: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: REPO, encoding: 'utf8' }).trim();
  const dir = path.join(os.tmpdir(), `likeness-before-${sha}`);
  if (!fs.existsSync(path.join(dir, 'src'))) {
    execFileSync('git', ['worktree', 'add', '--force', '--detach', dir, sha], { cwd: REPO, stdio: 'ignore' });
  }
  const nm = path.join(dir, 'node_modules');
  if (!fs.existsSync(nm)) fs.symlinkSync(path.join(REPO, 'node_modules'), nm, 'dir');
  return dir;
}

function loadTree(dir: string): Tree {
  return {
    analyzer: require(path.join(dir, 'src/face/analyzer')) as typeof AnalyzerModule,
    embed: require(path.join(dir, 'src/voice/embed')) as typeof EmbedModule,
    vad: require(path.join(dir, 'src/voice/vad')) as typeof VadModule,
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return s / Math.sqrt(na * nb);
}

async function images(): Promise<{ name: string; img: RgbImage }[]> {
  const files = packageSampleImages();
  const root = evalFacesRoot();
  // Portraits of the evaluation list as well when it is present: the typical single-face upload.
  if (root) files.push(...spread(readCsvRows(path.join(root, 'identities.csv')).map((r) => path.join(root, r.file ?? r.path ?? '')), 24));
  const out: { name: string; img: RgbImage }[] = [];
  for (const f of files) {
    try {
      out.push({ name: path.basename(f), img: await decodeImage(f) });
    } catch {
      // an unreadable file is not part of the timing
    }
  }
  return out;
}

async function faceSide(before: Tree, after: Tree, imgs: { img: RgbImage }[], preset: 'fast' | 'accurate', rounds: number) {
  const b = await before.analyzer.FaceAnalyzer.create({ preset });
  const a = await after.analyzer.FaceAnalyzer.create({ preset });
  let minCos = 1, faces = 0, countMismatch = 0;
  for (const { img } of imgs) {
    const fb = await b.analyzeRgb(img), fa = await a.analyzeRgb(img);
    if (fb.length !== fa.length) countMismatch++;
    for (let i = 0; i < Math.min(fb.length, fa.length); i++) {
      minCos = Math.min(minCos, cosine(fb[i]!.embedding, fa[i]!.embedding));
      faces++;
    }
  }
  const perRound = { before: [] as number[], after: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    let tb = 0, ta = 0;
    for (const [i, { img }] of imgs.entries()) {
      // Alternate which goes first so neither always runs on a warmer cache.
      const order = (i + r) % 2 === 0 ? (['b', 'a'] as const) : (['a', 'b'] as const);
      for (const who of order) {
        const t0 = performance.now();
        await (who === 'b' ? b : a).analyzeRgb(img);
        const dt = performance.now() - t0;
        if (who === 'b') tb += dt;
        else ta += dt;
      }
    }
    perRound.before.push(tb / imgs.length);
    perRound.after.push(ta / imgs.length);
  }
  const msBefore = median(perRound.before), msAfter = median(perRound.after);
  return {
    msPerImage: { before: round(msBefore, 2), after: round(msAfter, 2) },
    speedup: round(msBefore / msAfter, 3),
    facesCompared: faces,
    faceCountMismatches: countMismatch,
    minEmbeddingCosine: round(minCos, 7),
  };
}

function speechSignal(seconds: number): Float32Array {
  const parts: Float32Array[] = [];
  let n = 0;
  for (let i = 0; n < seconds * 16000; i++) {
    const s = speak(SENTENCES[i % SENTENCES.length]!, VOICES[i % 2 === 0 ? 0 : 3]!);
    parts.push(s, new Float32Array(8000));
    n += s.length + 8000;
  }
  const x = new Float32Array(n);
  let o = 0;
  for (const p of parts) (x.set(p, o), (o += p.length));
  return x;
}

async function voiceSide(before: Tree, after: Tree, seconds: number, rounds: number) {
  const samples = speechSignal(seconds);
  const signal = { sampleRate: 16000 as const, samples, offset: 0 };
  const audioSeconds = samples.length / 16000;
  const b = await before.embed.VoiceEmbedder.create(), a = await after.embed.VoiceEmbedder.create();
  const speech = await after.vad.detectSpeech(signal);
  const eb = await b.embed(signal), ea = await a.embed(signal);
  const time = async (f: () => Promise<unknown>) => {
    const t0 = performance.now();
    await f();
    return (performance.now() - t0) / 1000;
  };
  const whole = { before: [] as number[], after: [] as number[] };
  const features = { before: [] as number[], after: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    const first = r % 2 === 0;
    for (const who of first ? ['b', 'a'] : ['a', 'b']) {
      const e = who === 'b' ? b : a;
      const w = await time(() => e.embed(signal));
      const f = await time(() => e.embed(signal, speech));
      (who === 'b' ? whole.before : whole.after).push(w / audioSeconds);
      (who === 'b' ? features.before : features.after).push(f / audioSeconds);
    }
  }
  const rtf = (xs: number[]) => round(median(xs), 5);
  return {
    model: a.modelId,
    audioSeconds: round(audioSeconds, 1),
    rtf: { before: rtf(whole.before), after: rtf(whole.after), speedup: round(median(whole.before) / median(whole.after), 3) },
    rtfGivenSpeech: { before: rtf(features.before), after: rtf(features.after), speedup: round(median(features.before) / median(features.after), 3) },
    embeddingCosine: eb.embedding && ea.embedding ? round(cosine(eb.embedding, ea.embedding), 7) : null,
    windowCosineMin: round(Math.min(...ea.windows.map((w, i) => (eb.windows[i] ? cosine(w.embedding, eb.windows[i]!.embedding) : 0))), 7),
    windows: { before: eb.windows.length, after: ea.windows.length },
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rounds = Number(argValue(argv, '--rounds') ?? 5);
  const ref = argValue(argv, '--before-ref') ?? DEFAULT_BEFORE_REF;
  let dir = argValue(argv, '--before');
  try {
    dir ??= checkout(ref);
  } catch (e) {
    console.log(JSON.stringify({ skipped: `cannot check out ${ref} (${(e as Error).message.split('\n')[0]}); pass --before DIR` }));
    return;
  }
  const before = loadTree(dir), after = loadTree(REPO);
  const imgs = await images();
  const result = {
    before: { dir, ref: argValue(argv, '--before') ? undefined : ref },
    native: nativeInfo(),
    rounds,
    images: imgs.length,
    face: {
      fast: await faceSide(before, after, imgs, 'fast', rounds),
      accurate: await faceSide(before, after, imgs, 'accurate', Math.max(1, Math.ceil(rounds / 2))),
    },
    voice: await voiceSide(before, after, Number(argValue(argv, '--voice-seconds') ?? 120), rounds),
    loadAverage: os.loadavg().map((x) => round(x, 2)),
  };
  console.log(argv.includes('--json') ? JSON.stringify(result) : JSON.stringify(result, null, 1));
}

void main();
