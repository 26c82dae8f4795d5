import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import { isScanFailure, type ScanResult } from '../../src/report/schema';
import { makeTmpDir } from '../helpers/media';
import { composeVideo, type Appearance } from '../helpers/scan-media';

// The done-criterion of scanning: a video composed (at test time, in a temp folder) from ../shared/eval face photos,
// people enrolled from other photos of them plus people never enrolled, at known on-screen intervals. Every enrolled
// appearance must be reported for the right performer with its interval within +/-0.5 s, and no one not enrolled may
// be a `match`. Skips when ../shared/eval is absent.

const ROOT = path.join(__dirname, '..', '..', '..', 'shared', 'eval', 'faces');
const have = fs.existsSync(path.join(ROOT, 'identities.csv'));
const suite = have ? describe : describe.skip;

const ENROLLED = ['deepface_id01_angelina_jolie', 'deepface_id02', 'deepface_id03', 'deepface_id04', 'deepface_id05', 'bbt_sheldon', 'bbt_penny', 'bbt_raj'];
const STRANGERS = ['deepface_id06', 'deepface_id07', 'deepface_id11', 'bbt_howard', 'bbt_amy', 'bbt_stuart'];
const SLOT = 1.5;
const GAP = 0.6;
const TILE = 300;

interface Shown extends Appearance {
  identity: string;
}

function identities(): Map<string, string[]> {
  const rows = fs.readFileSync(path.join(ROOT, 'identities.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
  const m = new Map<string, string[]>();
  for (const r of rows) {
    const [file, id] = r.split(',');
    if (file && id) m.set(id, [...(m.get(id) ?? []), file]);
  }
  for (const files of m.values()) files.sort();
  return m;
}

suite('scan: video composed from ../shared/eval faces', () => {
  const tmp = makeTmpDir('lg-scan-eval-');
  let guard: Guard;
  let result: ScanResult;
  const performerOf = new Map<string, string>();
  const shown: Shown[] = [];
  const undetected: string[] = [];

  beforeAll(async () => {
    process.env.LIKENESS_HOME = path.join(tmp.dir, 'home');
    const ids = identities();
    guard = await Guard.open({ db: path.join(tmp.dir, 'store.db'), key: 'ef'.repeat(32) });
    // Enrolled people: the first two photos (sorted by name) are references, the third appears in the video.
    const cast: { identity: string; file: string }[] = [];
    for (const id of ENROLLED) {
      const files = ids.get(id)!;
      const r = await guard.enroll({ name: id, noConsent: true }, files.slice(0, 2).map((f) => path.join(ROOT, f)), { largest: true });
      if (r.performerId) performerOf.set(id, r.performerId);
      cast.push({ identity: id, file: files[2]! });
    }
    for (const id of STRANGERS) cast.push({ identity: id, file: ids.get(id)![0]! });
    // Interleave enrolled people and strangers; every second slot shows two people side by side.
    const order = cast.map((c, i) => ({ c, k: (i % ENROLLED.length) * 2 + (i >= ENROLLED.length ? 1 : 0) })).sort((a, b) => a.k - b.k).map((x) => x.c);
    // Start and gap off the 0.5 s sampling grid, so intervals do not line up with sampled frames.
    let t = 0.7;
    let i = 0;
    let slot = 0;
    while (i < order.length) {
      const pair = slot % 2 === 1 && i + 1 < order.length;
      const group = order.slice(i, i + (pair ? 2 : 1));
      const dur = SLOT + (slot % 3) * 0.5;
      for (const [j, c] of group.entries()) {
        const tile = path.join(tmp.dir, `tile-${i + j}.png`);
        await sharp(path.join(ROOT, c.file)).rotate().resize(TILE, TILE, { fit: 'contain', background: '#808080' }).png().toFile(tile);
        // An appearance only counts when the still itself shows a detectable face.
        if ((await guard.faces.analyze(tile)).faces.length === 0) {
          undetected.push(c.file);
          continue;
        }
        shown.push({ identity: c.identity, image: tile, start: t, end: t + dur, x: pair ? 20 + j * 340 : 170, y: 30 });
      }
      t += dur + GAP;
      i += group.length;
      slot++;
    }
    composeVideo(path.join(tmp.dir, 'eval.mp4'), shown, { width: 680, height: 360, seconds: Math.ceil(t) });
    const r = await guard.scan(path.join(tmp.dir, 'eval.mp4'));
    if (isScanFailure(r)) throw new Error(`${r.error.code}: ${r.error.message}`);
    result = r;
    if (process.env.LIKENESS_SCAN_EVAL_VERBOSE) {
      const seg = (m: ScanResult['matches'][number]): string => m.segments.map((g) => `${g.start}-${g.end}`).join(',');
      console.log(JSON.stringify({ shown: shown.map((s) => `${s.identity} ${s.start.toFixed(1)}-${s.end.toFixed(1)}`), undetected, matches: r.matches.map((m) => `${m.name} ${m.decision} ${m.score} ${seg(m)}`), timings: r.timings }, null, 1));
    }
  });

  afterAll(async () => {
    await guard?.close();
    tmp.cleanup();
  });

  test('every enrolled appearance is reported for the right performer, interval within +/-0.5 s', () => {
    const enrolledShown = shown.filter((s) => performerOf.has(s.identity));
    expect(enrolledShown.length).toBeGreaterThanOrEqual(6);
    const missed: string[] = [];
    for (const s of enrolledShown) {
      const m = result.matches.find((x) => x.modality === 'face' && x.performerId === performerOf.get(s.identity));
      const seg = m?.segments.find((g) => Math.abs(g.start - s.start) <= 0.5 && Math.abs(g.end - s.end) <= 0.5);
      if (!seg) missed.push(`${s.identity} ${s.start}-${s.end}: ${JSON.stringify(m?.segments ?? null)}`);
    }
    expect(missed).toEqual([]);
  });

  test('no one who is not enrolled, and no enrolled person off screen, is a match', () => {
    const wrong: string[] = [];
    for (const m of result.matches.filter((x) => x.modality === 'face' && x.decision === 'match')) {
      const id = [...performerOf].find(([, p]) => p === m.performerId)![0];
      for (const g of m.segments) {
        const own = shown.some((s) => s.identity === id && g.start < s.end + 0.5 && g.end > s.start - 0.5);
        if (!own) wrong.push(`${id} at ${g.start}-${g.end}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
