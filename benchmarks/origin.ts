// Reuse or imitation (issue 16): what the reference fingerprints cost, how well they separate the same media
// transformed from other media of the same person, and what a lookup costs at 100 and 10,000 references.
//
//   npm run bench:origin [-- --json]
//
// Media: the face-api sample photos (MIT, npm) with sharp / ffmpeg transforms; espeak-ng speech (project-made);
// ../shared/eval/faces for other photos of the same person, when present. The 10,000-reference index is filled with
// synthetic references (documented below) around the real ones, so the same real queries run against both sizes.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { FaceAnalyzer } from '../src/face/analyzer';
import { FACE_HASH_WORDS, FACE_VERIFY_MAX_DISTANCE, canvasQueryHashes, faceHash, faceQueryCanvas, faceVerifyDistance, visualFingerprint, type FaceHash, type FaceHashFrame } from '../src/face/fingerprint';
import { hammingWords } from '../src/kernels/hamming';
import { decodeAudio } from '../src/media/audio';
import { audioFingerprint, type AudioFingerprint } from '../src/media/audio-fingerprint';
import { ffmpegPath } from '../src/media/ffmpeg';
import { decodeImage } from '../src/media/image';
import { FACE_MAX_DISTANCE, FACE_THRESHOLD, OriginIndex, VOICE_THRESHOLD, type OriginEntry } from '../src/match/origin-index';
import type { FaceDetection, RgbImage } from '../src/types';
import { sampleImage } from '../test/helpers/images';
import { MUSIC_SOURCE, OTHER_SENTENCES, REFERENCE_TEXTS } from '../test/helpers/origin-media';
import { prng, round } from './measure';

const json = process.argv.includes('--json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-bench-origin-'));
const file = (n: string): string => path.join(tmp, n);
const ffmpeg = (args: string[]): void => void execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
const log = (...a: unknown[]): void => {
  if (!json) console.log(...a);
};

function stats(a: number[]): { n: number; min: number; p5: number; p50: number; p95: number; max: number } {
  const s = [...a].sort((x, y) => x - y);
  const q = (p: number): number => round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN, 3);
  return { n: s.length, min: q(0), p5: q(0.05), p50: q(0.5), p95: q(0.95), max: q(1) };
}
const median = (a: number[]): number => stats(a).p50;

/** Smallest distance between any of the query hashes and a reference hash (what the index verifies). */
function queryDistance(q: Uint32Array, r: Uint32Array): number {
  return nearestVariant(q, r).d;
}

/** The query variant nearest a stored hash and its distance. */
function nearestVariant(q: Uint32Array, r: Uint32Array): { d: number; v: number } {
  let d = 64, at = 0;
  for (let v = 0; v < q.length / FACE_HASH_WORDS; v++) {
    const x = hammingWords(q, v * FACE_HASH_WORDS, r, 0, FACE_HASH_WORDS);
    if (x < d) [d, at] = [x, v];
  }
  return { d, v: at };
}

/** A face query: its canvas and the variant hashes, as a scan looks it up. */
interface Query {
  canvas: Float32Array;
  hashes: Uint32Array;
}

function query(img: RgbImage, face: FaceDetection): Query {
  const canvas = faceQueryCanvas(img, face);
  return { canvas, hashes: canvasQueryHashes(canvas) };
}

/**
 * Whether the index would take `q` for the stored hash (or its mirror): within FACE_MAX_DISTANCE bits at the nearest
 * variant, then within FACE_VERIFY_MAX_DISTANCE verification bits at the refined alignment.
 */
function accepted(q: Query, r: FaceHash): boolean {
  for (const [h, v] of [[r.hash, r.verify], [r.mirror, r.mirrorVerify]] as const) {
    const n = nearestVariant(q.hashes, h);
    if (n.d <= FACE_MAX_DISTANCE && faceVerifyDistance(q.canvas, n.v, v) <= FACE_VERIFY_MAX_DISTANCE) return true;
  }
  return false;
}

/** A random 64-bit hash with 32 set bits, as the median threshold makes them. */
function randomHash(r: () => number): Uint32Array {
  const bits = Array.from({ length: 64 }, (_, i) => i);
  for (let i = 63; i > 0; i--) {
    const j = Math.floor(((r() + 1) / 2) * (i + 1));
    [bits[i], bits[j]] = [bits[j]!, bits[i]!];
  }
  const h = new Uint32Array(2);
  for (const b of bits.slice(0, 32)) h[b >> 5]! |= 1 << (b & 31);
  return h;
}

/** Random verification words (128 bits, about half set) for filler references. */
function randomVerify(r: () => number): Uint32Array {
  return Uint32Array.from({ length: 4 }, () => Math.floor(((r() + 1) / 2) * 2 ** 32) >>> 0);
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { date: new Date().toISOString().slice(0, 10), node: process.version };
  const analyzer = await FaceAnalyzer.create();
  const detect = async (img: RgbImage): Promise<FaceDetection[]> => (await analyzer.detect(img)).filter((d) => Math.max(d.box.w, d.box.h) >= 40);

  // ---- Faces: references, transforms, distances -------------------------------------------------------------------
  type Ref = { id: string; n: number; img: RgbImage; face: FaceDetection; hash: FaceHash; query: Query };
  const refs: Ref[] = [];
  let hashMs = 0, canvasMs = 0, queryMs = 0;
  for (let n = 1; n <= 6; n++) {
    const img = await decodeImage(sampleImage(n as 1));
    for (const [i, face] of (await detect(img)).entries()) {
      faceHash(img, face); // warm
      let t = performance.now();
      const hash = faceHash(img, face);
      hashMs += performance.now() - t;
      t = performance.now();
      const canvas = faceQueryCanvas(img, face);
      canvasMs += performance.now() - t;
      t = performance.now();
      const hashes = canvasQueryHashes(canvas);
      queryMs += performance.now() - t;
      refs.push({ id: `photo-${n}-${i}`, n, img, face, hash, query: { canvas, hashes } });
    }
  }
  out['faceFingerprintMs'] = { faces: refs.length, faceHash: round(hashMs / refs.length, 2), faceQueryCanvas: round(canvasMs / refs.length, 2), canvasQueryHashes: round(queryMs / refs.length, 2) };
  log('face fingerprint ms per face', out['faceFingerprintMs']);

  const transforms: { name: string; make: (f: string, w: number, h: number) => Promise<RgbImage>; map: (p: [number, number], w: number, h: number) => [number, number]; mirror?: boolean }[] = [
    { name: 'scale 50%', make: async (f, w) => decodeImage(await sharp(f).resize(Math.round(w / 2)).jpeg().toBuffer()), map: ([x, y]) => [x / 2, y / 2] },
    { name: 'crop 10% (5% each side)', make: async (f, w, h) => decodeImage(await sharp(f).extract({ left: Math.round(w * 0.05), top: Math.round(h * 0.05), width: Math.round(w * 0.9), height: Math.round(h * 0.9) }).jpeg().toBuffer()), map: ([x, y], w, h) => [x - Math.round(w * 0.05), y - Math.round(h * 0.05)] },
    { name: 'crop 10% (top-left corner)', make: async (f, w, h) => decodeImage(await sharp(f).extract({ left: Math.round(w * 0.1), top: Math.round(h * 0.1), width: w - Math.round(w * 0.1), height: h - Math.round(h * 0.1) }).jpeg().toBuffer()), map: ([x, y], w, h) => [x - Math.round(w * 0.1), y - Math.round(h * 0.1)] },
    { name: 'mirror', make: async (f) => decodeImage(await sharp(f).flop().jpeg().toBuffer()), map: ([x, y], w) => [w - 1 - x, y], mirror: true },
    { name: 'brightness +30%', make: async (f) => decodeImage(await sharp(f).modulate({ brightness: 1.3 }).jpeg().toBuffer()), map: (p) => p },
    { name: 'brightness -30%', make: async (f) => decodeImage(await sharp(f).modulate({ brightness: 0.7 }).jpeg().toBuffer()), map: (p) => p },
    {
      name: 'H.264 300 kb/s, half size',
      make: async (f) => {
        ffmpeg(['-loop', '1', '-i', f, '-t', '2', '-r', '25', '-vf', 'scale=960:-2,format=yuv420p', '-c:v', 'libx264', '-b:v', '300k', file('v.mp4')]);
        ffmpeg(['-ss', '1.5', '-i', file('v.mp4'), '-frames:v', '1', file('f.png')]);
        return decodeImage(file('f.png'));
      },
      map: ([x, y]) => [x / 2, y / 2],
    },
  ];
  const faceQueries: { refId: string; transform: string; q: Query }[] = [];
  const sameAccepted: Record<string, number> = {};
  const samePhoto: Record<string, number[]> = {};
  for (let n = 1; n <= 6; n++) {
    const mine = refs.filter((r) => r.n === n);
    const f = sampleImage(n as 1);
    for (const t of transforms) {
      const img = await t.make(f, mine[0]!.img.width, mine[0]!.img.height);
      const faces = await detect(img);
      for (const r of mine) {
        const c = t.map([r.face.box.x + r.face.box.w / 2, r.face.box.y + r.face.box.h / 2], r.img.width, r.img.height);
        const face = faces.find((d) => Math.hypot(d.box.x + d.box.w / 2 - c[0], d.box.y + d.box.h / 2 - c[1]) < 20);
        if (!face) continue;
        const q = query(img, face);
        (samePhoto[t.name] ??= []).push(queryDistance(q.hashes, t.mirror ? r.hash.mirror : r.hash.hash));
        sameAccepted[t.name] = (sameAccepted[t.name] ?? 0) + (accepted(q, r.hash) ? 1 : 0);
        faceQueries.push({ refId: r.id, transform: t.name, q });
      }
    }
  }
  const otherPeople: number[] = [];
  let otherAccepted = 0;
  for (const a of refs) {
    for (const b of refs) {
      if (a === b) continue;
      otherPeople.push(Math.min(queryDistance(a.query.hashes, b.hash.hash), queryDistance(a.query.hashes, b.hash.mirror)));
      if (accepted(a.query, b.hash)) otherAccepted++;
    }
  }
  const separation: Record<string, unknown> = { unit: 'bits of 64 (smallest over the query variants and the mirror); accepted: also within the verification limit', maxDistance: FACE_MAX_DISTANCE, verifyMaxDistance: FACE_VERIFY_MAX_DISTANCE };
  for (const [k, v] of Object.entries(samePhoto)) separation[`same photo, ${k}`] = { ...stats(v), accepted: sameAccepted[k] ?? 0 };
  separation['other people (sample photos)'] = { ...stats(otherPeople), accepted: otherAccepted };
  const evalRoot = path.resolve(__dirname, '../../shared/eval/faces');
  if (fs.existsSync(path.join(evalRoot, 'identities.csv'))) {
    const rows = fs.readFileSync(path.join(evalRoot, 'identities.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    for (const set of ['deepface', 'face-api.js']) {
      const items: { id: string; hash: FaceHash; query: Query }[] = [];
      for (const [f, id] of rows) {
        if (!f!.startsWith(`${set}/`)) continue;
        const img = await decodeImage(path.join(evalRoot, f!));
        const face = (await detect(img)).sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h)[0];
        if (face) items.push({ id: id!, hash: faceHash(img, face), query: query(img, face) });
      }
      const same: number[] = [], other: number[] = [];
      let sameOk = 0, otherOk = 0;
      for (const a of items) {
        for (const b of items) {
          if (a === b) continue;
          const d = Math.min(queryDistance(a.query.hashes, b.hash.hash), queryDistance(a.query.hashes, b.hash.mirror));
          const ok = d <= FACE_MAX_DISTANCE && accepted(a.query, b.hash);
          if (a.id === b.id) [same.push(d), (sameOk += ok ? 1 : 0)];
          else [other.push(d), (otherOk += ok ? 1 : 0)];
        }
      }
      separation[`eval ${set}: same person, other photo`] = { ...stats(same), withinMaxDistance: same.filter((d) => d <= FACE_MAX_DISTANCE).length, accepted: sameOk };
      separation[`eval ${set}: other people`] = { ...stats(other), withinMaxDistance: other.filter((d) => d <= FACE_MAX_DISTANCE).length, accepted: otherOk };
    }
  }
  out['faceSeparation'] = separation;
  log('face separation', separation);

  // ---- Audio: references, transforms, similarities ----------------------------------------------------------------
  const audioRefs: AudioFingerprint[] = [];
  for (const [i, t] of REFERENCE_TEXTS.entries()) {
    execFileSync('espeak-ng', ['-v', 'en-us', '-s', '125', '-w', file(`ref${i}.wav`), t]);
    audioRefs.push(await audioFingerprint(await decodeAudio(file(`ref${i}.wav`))));
  }
  const sig = await decodeAudio(file('ref0.wav'));
  let fpBest = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await audioFingerprint(sig);
    fpBest = Math.min(fpBest, performance.now() - t);
  }
  out['audioFingerprintMsPerSecond'] = round(fpBest / (sig.samples.length / 16000), 3);
  log('audio fingerprint ms per second of audio', out['audioFingerprintMsPerSecond']);
  ffmpeg(['-f', 'lavfi', '-i', MUSIC_SOURCE, file('music.wav')]);
  const audioTransforms: [string, string[], string][] = [
    ['AAC 48 kb/s', ['-c:a', 'aac', '-b:a', '48k'], 'm4a'],
    ['tempo 0.95', ['-af', 'atempo=0.95'], 'wav'],
    ['tempo 1.05 + AAC 48 kb/s', ['-af', 'atempo=1.05', '-c:a', 'aac', '-b:a', '48k'], 'm4a'],
    ['music -10 dB + AAC 48 kb/s', ['-filter_complex', '[1:a]volume=-10dB[m];[0:a][m]amix=inputs=2:duration=first:normalize=0', '-c:a', 'aac', '-b:a', '48k'], 'm4a'],
  ];
  const voiceQueries: { ref: number; start: number; dur: number; transform: string; fp: AudioFingerprint }[] = [];
  for (const [name, args, ext] of audioTransforms) {
    for (const dur of [2, 5, 10]) {
      for (const start of [0, 9.5, 19, 28]) {
        const ref = voiceQueries.length % REFERENCE_TEXTS.length;
        const music = name.startsWith('music') ? ['-i', file('music.wav')] : [];
        ffmpeg(['-ss', String(start), '-t', String(dur), '-i', file(`ref${ref}.wav`), ...music, ...args, file(`q.${ext}`)]);
        voiceQueries.push({ ref, start, dur, transform: name, fp: await audioFingerprint(await decodeAudio(file(`q.${ext}`))) });
      }
    }
  }
  const small = OriginIndex.build(audioRefs.map((fp, i) => ({ referenceId: `rec-${i}`, fingerprint: fp })));
  const voiceSim: Record<string, number[]> = {};
  let voiceOk = 0;
  let maxOffsetError = 0;
  for (const q of voiceQueries) {
    const m = small.lookupVoice(q.fp, { threshold: 0 });
    const ok = m?.referenceId === `rec-${q.ref}` && Math.abs(m.referenceOffset - q.start) <= 0.5 && m.similarity >= VOICE_THRESHOLD;
    if (ok) {
      voiceOk++;
      maxOffsetError = Math.max(maxOffsetError, Math.abs(m.referenceOffset - q.start));
    }
    (voiceSim[q.transform] ??= []).push(m?.referenceId === `rec-${q.ref}` ? m.similarity : 0);
  }
  const impostor: number[] = [];
  const impostorTexts = [...OTHER_SENTENCES.map((t) => ['en-us', t] as const), ['en-us+f4', REFERENCE_TEXTS[0]!] as const, ['en-gb', REFERENCE_TEXTS[1]!] as const];
  for (const [voice, t] of impostorTexts) {
    execFileSync('espeak-ng', ['-v', voice, '-s', '125', '-w', file('imp.wav'), t]);
    const fp = await audioFingerprint(await decodeAudio(file('imp.wav')));
    impostor.push(small.lookupVoice(fp, { threshold: 0 })?.similarity ?? 0);
  }
  out['voiceSeparation'] = {
    threshold: VOICE_THRESHOLD,
    found: `${voiceOk}/${voiceQueries.length} segments (2, 5, 10 s; 0-28 s in) with the right recording and offset within 0.5 s`,
    maxOffsetError: round(maxOffsetError, 3),
    similarityOfTheRightRecording: Object.fromEntries(Object.entries(voiceSim).map(([k, v]) => [k, stats(v)])),
    otherSpeechBestSimilarity: stats(impostor),
  };
  log('voice separation', out['voiceSeparation']);

  // ---- Lookup cost at 100 and 10,000 references -------------------------------------------------------------------
  // Synthetic references around the real ones. Audio: 20 s each, cut from 1 s blocks of pool recordings that no query
  // comes from (the reference texts read by two other voices), each block XORed with a random word.
  // Faces: photos with random 64-bit hashes of 32 set bits (the median threshold makes every hash so) and one in ten a
  // 30 s clip of 120 frames.
  const pool: AudioFingerprint[] = [];
  for (const [i, t] of REFERENCE_TEXTS.entries()) {
    for (const voice of ['en-us+f4', 'en-gb+m3']) {
      execFileSync('espeak-ng', ['-v', voice, '-s', '125', '-w', file(`pool${i}.wav`), t]);
      pool.push(await audioFingerprint(await decodeAudio(file(`pool${i}.wav`))));
    }
  }
  const rnd = prng(16);
  const pick = (n: number): number => Math.min(n - 1, Math.floor(((rnd() + 1) / 2) * n));
  const fillerAudio = (): AudioFingerprint => {
    const n = 2000;
    const subprints = new Uint32Array(n), voiced = new Uint8Array(n);
    for (let o = 0; o < n; o += 100) {
      const p = pool[pick(pool.length)]!;
      const from = pick(p.subprints.length - 100);
      // Each block XORed with its own random word: distinct recordings (copies of one block would be the same
      // recording 500 times over), with the bit structure of real speech within the block.
      const mask = Math.floor(((rnd() + 1) / 2) * 2 ** 32) >>> 0;
      for (let k = 0; k < 100; k++) subprints[o + k] = (p.subprints[from + k]! ^ mask) >>> 0;
      voiced.set(p.voiced.subarray(from, from + 100), o);
    }
    return { kind: 'audio', version: 1, hopSeconds: 0.01, subprints, voiced };
  };
  const fillerFace = (i: number): OriginEntry['fingerprint'] => {
    const frames: FaceHashFrame[] = [];
    const count = i % 10 === 0 ? 120 : 1;
    for (let f = 0; f < count; f++) frames.push({ time: f / 4, hash: randomHash(rnd), mirror: randomHash(rnd), verify: randomVerify(rnd), mirrorVerify: randomVerify(rnd) });
    return visualFingerprint(frames, { still: count === 1 });
  };
  const faceEntries: OriginEntry[] = refs.filter((r) => r.n <= 3).map((r) => ({ referenceId: r.id, fingerprint: visualFingerprint([{ time: 0, ...r.hash }], { still: true }) }));
  const audioEntries: OriginEntry[] = audioRefs.map((fp, i) => ({ referenceId: `rec-${i}`, fingerprint: fp }));
  // Face segments: 10 sampled frames of one scanned face (the transformed copies of one photo, 0.5 s apart).
  const targets = faceQueries.filter((q) => refs.find((r) => r.id === q.refId)!.n <= 3);
  const segments: { refId: string; frames: { time: number; hashes: Uint32Array; canvas: Float32Array }[] }[] = [];
  for (const id of new Set(targets.map((q) => q.refId))) {
    const mine = targets.filter((q) => q.refId === id && q.transform !== 'mirror');
    segments.push({ refId: id, frames: Array.from({ length: 10 }, (_, k) => ({ time: k / 2, ...mine[k % mine.length]!.q })) });
  }
  const lookups: Record<string, unknown> = {};
  for (const size of [100, 10_000]) {
    const fa: OriginEntry[] = [...faceEntries];
    for (let i = fa.length; i < size; i++) fa.push({ referenceId: `filler-face-${i}`, fingerprint: fillerFace(i) });
    const au: OriginEntry[] = [...audioEntries];
    for (let i = au.length; i < size; i++) au.push({ referenceId: `filler-audio-${i}`, fingerprint: fillerAudio() });
    let t = performance.now();
    const index = OriginIndex.build([...fa, ...au]);
    const buildMs = performance.now() - t;
    const faceMs: number[] = [], voiceMs: number[] = [];
    let faceRight = 0, voiceRight = 0;
    for (let rep = 0; rep < 3; rep++) {
      for (const s of segments) {
        t = performance.now();
        const m = index.lookupFace(s.frames);
        faceMs.push(performance.now() - t);
        if (rep === 0 && m?.referenceId === s.refId) faceRight++;
      }
      for (const q of voiceQueries) {
        t = performance.now();
        const m = index.lookupVoice(q.fp);
        voiceMs.push(performance.now() - t);
        if (rep === 0 && m?.referenceId === `rec-${q.ref}` && Math.abs(m.referenceOffset - q.start) <= 0.5) voiceRight++;
      }
    }
    lookups[String(size)] = {
      buildMs: round(buildMs, 0),
      faceSegmentMs: round(median(faceMs), 3),
      faceRight: `${faceRight}/${segments.length}`,
      voiceSegmentMs: round(median(voiceMs), 3),
      voiceRight: `${voiceRight}/${voiceQueries.length}`,
    };
    log(`lookup at ${size} references`, lookups[String(size)]);
  }
  const l100 = lookups['100'] as { faceSegmentMs: number; voiceSegmentMs: number }, l10k = lookups['10000'] as { faceSegmentMs: number; voiceSegmentMs: number };
  lookups['ratio10kTo100'] = { face: round(l10k.faceSegmentMs / l100.faceSegmentMs, 2), voice: round(l10k.voiceSegmentMs / l100.voiceSegmentMs, 2) };
  out['lookup'] = lookups;
  out['thresholds'] = { FACE_MAX_DISTANCE, FACE_THRESHOLD, VOICE_THRESHOLD };
  log('ratio', lookups['ratio10kTo100']);
  if (json) console.log(JSON.stringify(out, null, 2));
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
