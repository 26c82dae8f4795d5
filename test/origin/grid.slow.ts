// Acceptance grid of issue 16 (npm run test:slow; .ci/run runs it): ads that reuse part of ONE enrolled reference
// after one transform must be reported as `reference-reuse` of that reference, with `referenceOffset` within 0.5 s.
//
// Five performers (faces cut from the MIT face-api sample photos, five espeak-ng voices) are each enrolled with a
// reference photo, a 12 s reference video clip (the face, framed tighter than in the photo, drifting over a moving
// test pattern) and a ~15 s reference recording. Then one ad per case, the reused part starting at a seeded time
// 3-20 s in, after blank filler:
//   photo x {H.264 300 kb/s, scale 50%, crop 10%, mirror, brightness +30%, -30%}   (the photo held 4 s)
//   video x the same six                                                          (a 3-6 s excerpt, seeded offset)
//   recording x {AAC 48 kb/s, tempo 0.95, tempo 1.05 (pitch kept), music at -10 dB} (a 5-8 s excerpt, seeded offset)
// x the five performers' references. A case is a hit when a segment of the performer's match (face for photo and
// video, voice for recording) overlapping the reused part has origin reuse of the right reference (its sha256) and
// referenceOffset within 0.5 s of the truth: 0 for a photo, else the reference time at the segment's start.
// A table per kind x transform is printed, and written as JSON to $LIKENESS_GRID_OUT when set.
import * as fs from 'fs';
import * as path from 'path';
import { Guard } from '../../src/guard';
import type { ScanFailure, ScanResult } from '../../src/report/schema';
import { hasEspeak, makeTmpDir } from '../helpers/media';
import { describeIf } from '../helpers/requires';
import { seeded } from '../helpers/turn-ads';

/** Reuse hit rate the grid must keep: the issue's target. */
const GRID_FLOOR = 0.95;
import {
  AUDIO_TRANSFORMS,
  GRID_FACES,
  GRID_VOICES,
  RECORDING_TEXTS,
  VISUAL_TRANSFORMS,
  audioAd,
  audioSeconds,
  referenceClip,
  referencePhoto,
  referenceRecording,
  sha256File,
  visualAd,
  type ReuseTruth,
} from '../helpers/origin-media';

type Kind = 'photo' | 'video' | 'recording';

interface Performer {
  id: string;
  photo: string;
  clip: string;
  recording: string;
  refs: Record<Kind, string>;
  recordingSeconds: number;
  videoEnrolled: boolean;
}

interface Case {
  kind: Kind;
  transform: string;
  performer: number;
  file: string;
  truth: ReuseTruth;
}

interface Outcome {
  hit: boolean;
  /** Offset error (s) of the best segment reusing the right reference, if any. */
  error: number | null;
  /** What the scan said, for a miss. */
  why: string;
}

const CLIP_SECONDS = 12;
const PHOTO_SECONDS = 4;

const tmp = makeTmpDir('lg-grid-');
const f = (n: string): string => path.join(tmp.dir, n);
const speech = hasEspeak();

/** The truth and the scan of one case, compared. */
function judge(r: ScanResult | ScanFailure, c: Case, p: Performer): Outcome {
  if (!('matches' in r)) return { hit: false, error: null, why: `scan failed: ${r.error.code}` };
  const modality = c.kind === 'recording' ? 'voice' : 'face';
  const mine = r.matches.filter((m) => m.modality === modality && m.performerId === p.id);
  if (mine.length === 0) {
    const others = r.matches.filter((m) => m.modality === modality).map((m) => m.name);
    return { hit: false, error: null, why: others.length ? `matched ${others.join(', ')} instead` : 'no match' };
  }
  const ref = p.refs[c.kind];
  let best: number | null = null;
  const seen: string[] = [];
  for (const m of mine) {
    for (const s of m.segments) {
      if (s.end < c.truth.adStart - 0.5 || s.start > c.truth.adEnd + 0.5) continue;
      const o = s.origin;
      if (!o || o.kind !== 'reference-reuse') {
        seen.push(`${s.start.toFixed(2)}-${s.end.toFixed(2)} ${o?.kind ?? 'no origin'}`);
        continue;
      }
      if (o.referenceId !== ref) {
        seen.push(`${s.start.toFixed(2)}-${s.end.toFixed(2)} reuse of another reference (${o.referenceId.slice(0, 8)}, sim ${o.similarity.toFixed(2)})`);
        continue;
      }
      const expected = c.kind === 'photo' ? 0 : c.truth.refStart + (s.start - c.truth.adStart) * c.truth.rate;
      const err = o.referenceOffset - expected;
      seen.push(`${s.start.toFixed(2)}-${s.end.toFixed(2)} offset ${o.referenceOffset.toFixed(2)} vs ${expected.toFixed(2)} (sim ${o.similarity.toFixed(2)})`);
      if (best === null || Math.abs(err) < Math.abs(best)) best = err;
    }
  }
  if (seen.length === 0) return { hit: false, error: null, why: `segments ${mine.flatMap((m) => m.segments.map((s) => `${s.start}-${s.end}`)).join(', ')} miss the reused part` };
  return { hit: best !== null && Math.abs(best) <= 0.5, error: best, why: seen.join('; ') };
}

describeIf(speech, 'espeak-ng')('reference-reuse grid (issue 16)', () => {
  const performers: Performer[] = [];
  const cases: Case[] = [];
  const times: Record<string, number> = {};
  let guard: Guard;

  beforeAll(async () => {
    let t0 = Date.now();
    guard = await Guard.open({ db: f('store.db'), key: 'c4'.repeat(32) });
    for (const [i, face] of GRID_FACES.entries()) {
      const photo = await referencePhoto(face, f(`ref${i}.jpg`));
      const clip = await referenceClip(face, f(`ref${i}.mp4`), CLIP_SECONDS);
      const recording = referenceRecording(GRID_VOICES[i]!, RECORDING_TEXTS[i]!, f(`ref${i}.wav`));
      performers.push({
        id: '',
        photo,
        clip,
        recording,
        refs: { photo: sha256File(photo), video: sha256File(clip), recording: sha256File(recording) },
        recordingSeconds: await audioSeconds(recording),
        videoEnrolled: false,
      });
    }
    times.references = Date.now() - t0;
    t0 = Date.now();
    for (const [i, p] of performers.entries()) {
      const r = await guard.enroll({ name: `Grid performer ${i}`, noConsent: true }, [p.photo, p.clip, p.recording], { largest: true });
      p.id = r.performerId!;
      const acc = new Set(r.accepted.map((a) => a.file));
      p.videoEnrolled = acc.has(p.clip);
      if (acc.size < 3) console.log(`performer ${i}: rejected ${r.rejected.map((x) => `${path.basename(x.file)}: ${x.reason}`).join('; ')}`);
      expect([...acc].sort()).toEqual([p.photo, p.clip, p.recording].sort());
    }
    times.enroll = Date.now() - t0;
    t0 = Date.now();
    const rng = seeded(16);
    const lead = (): number => Math.round((3 + rng() * 17) * 100) / 100;
    // Every seeded number is drawn here, in a fixed order; the ads are then composed two at a time.
    const jobs: (() => Promise<void>)[] = [];
    const add = (kind: Kind, transform: string, performer: number, file: string, make: () => Promise<ReuseTruth>): void => {
      const slot = jobs.length;
      jobs.push(async () => {
        cases[slot] = { kind, transform, performer, file, truth: await make() };
      });
    };
    for (const t of VISUAL_TRANSFORMS) {
      for (const [i, p] of performers.entries()) {
        const at = lead();
        add('photo', t, i, f(`photo-${t}-${i}.mp4`), () => visualAd({ photo: p.photo }, t, at, PHOTO_SECONDS, f(`photo-${t}-${i}.mp4`)));
      }
    }
    for (const t of VISUAL_TRANSFORMS) {
      for (const [i, p] of performers.entries()) {
        const seconds = Math.round((3 + rng() * 3) * 100) / 100;
        const from = Math.round(rng() * (CLIP_SECONDS - seconds - 0.5) * 100) / 100;
        const at = lead();
        add('video', t, i, f(`video-${t}-${i}.mp4`), () => visualAd({ clip: p.clip, from }, t, at, seconds, f(`video-${t}-${i}.mp4`)));
      }
    }
    for (const t of AUDIO_TRANSFORMS) {
      for (const [i, p] of performers.entries()) {
        const seconds = Math.round((5 + rng() * 3) * 100) / 100;
        const from = Math.round(rng() * (p.recordingSeconds - seconds - 0.5) * 100) / 100;
        const at = lead();
        const file = f(`recording-${t}-${i}.${t === 'aac-48k' ? 'm4a' : 'wav'}`);
        add('recording', t, i, file, () => audioAd(p.recording, from, seconds, t, at, file));
      }
    }
    await Promise.all([0, 1].map(async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job();
    }));
    times.compose = Date.now() - t0;
  });

  afterAll(async () => {
    await guard?.close();
    tmp.cleanup();
  });

  test('reuse of each reference is reported with the right reference and offset in >= 95% of the cases', async () => {
    const t0 = Date.now();
    const rows = new Map<string, { kind: Kind; transform: string; hits: number; cases: number; errors: number[]; misses: string[] }>();
    // Two scans at a time (the shipped scanMany), so both cores work.
    const results: (ScanResult | ScanFailure)[] = [];
    for await (const e of guard.scanMany(cases.map((c) => c.file), { concurrency: 2 })) if (e.type === 'result') results[e.index] = e.result;
    for (const [k, c] of cases.entries()) {
      const p = performers[c.performer]!;
      const r = results[k];
      if (!r) throw new Error(`no scan result for ${c.file}`);
      const o = judge(r, c, p);
      const key = `${c.kind} ${c.transform}`;
      const row = rows.get(key) ?? { kind: c.kind, transform: c.transform, hits: 0, cases: 0, errors: [], misses: [] };
      row.cases++;
      if (o.hit) row.hits++;
      else row.misses.push(`#${c.performer} (reused ${c.truth.adStart.toFixed(2)}-${c.truth.adEnd.toFixed(2)} s of the ad, reference from ${c.truth.refStart.toFixed(2)} s): ${o.why}`);
      if (o.error !== null) row.errors.push(o.error);
      rows.set(key, row);
    }
    times.scan = Date.now() - t0;
    const table = [...rows.values()].map((r) => ({
      kind: r.kind,
      transform: r.transform,
      hits: r.hits,
      cases: r.cases,
      meanAbsOffsetError: r.errors.length ? round(r.errors.reduce((s, e) => s + Math.abs(e), 0) / r.errors.length) : null,
      maxAbsOffsetError: r.errors.length ? round(Math.max(...r.errors.map(Math.abs))) : null,
      misses: r.misses,
    }));
    const hits = table.reduce((n, r) => n + r.hits, 0);
    const total = table.reduce((n, r) => n + r.cases, 0);
    const lines = ['kind       transform    hits  mean|err| max|err|', ...table.map((r) => `${r.kind.padEnd(10)} ${r.transform.padEnd(12)} ${`${r.hits}/${r.cases}`.padStart(5)}  ${fmt(r.meanAbsOffsetError)}  ${fmt(r.maxAbsOffsetError)}`)];
    lines.push(`overall ${hits}/${total} = ${((100 * hits) / total).toFixed(1)}%; ms: ${JSON.stringify(times)}`);
    for (const r of table) for (const m of r.misses) lines.push(`MISS ${r.kind} ${r.transform} ${m}`);
    console.log(lines.join('\n'));
    const out = process.env['LIKENESS_GRID_OUT'];
    if (out) {
      fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
      fs.writeFileSync(out, JSON.stringify({ hits, cases: total, rate: hits / total, videoEnrolled: performers.every((p) => p.videoEnrolled), rows: table, ms: times }, null, 2));
    }
    expect(total).toBeGreaterThanOrEqual(performers.length * (VISUAL_TRANSFORMS.length + AUDIO_TRANSFORMS.length));
    // Issue 16 asks for >= 0.95 (measured 2026-12-02 with landmark-anchored hashes and verification bits: 77/80; the
    // misses: two faces at 50% scale and -30% brightness not recognised at all, one video offset 0.51 s off).
    expect(hits / total).toBeGreaterThanOrEqual(GRID_FLOOR);
  });
});

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function fmt(v: number | null): string {
  return v === null ? '     -' : v.toFixed(3).padStart(6);
}
