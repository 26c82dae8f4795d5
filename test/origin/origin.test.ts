// Reuse or new media (issue 16), the fast checks: a performer enrolled with one photo and one recording; an image
// reusing the photo (mirrored, recompressed) is `reference-reuse` of that photo; another sentence of the same espeak
// voice matches the voice as `new-media`; an unrelated face and voice match nobody; a performer whose references have
// no fingerprint (enrolled before fingerprints existed: its artefact rows are deleted here) is `unknown`.
// With ../shared/eval: other photos of an enrolled identity are `new-media`, never reuse.
import Database from 'better-sqlite3';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import type { ScanFailure, ScanMatch, ScanResult } from '../../src/report/schema';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../helpers/media';
import { describeIf, testIf } from '../helpers/requires';
import { GRID_FACES, GRID_VOICES, OTHER_TEXTS, RECORDING_TEXTS, referencePhoto, referenceRecording, sha256File } from '../helpers/origin-media';

const tmp = makeTmpDir('lg-origin-');
const f = (n: string): string => path.join(tmp.dir, n);
const db = f('store.db');
const KEY = 'd5'.repeat(32);
const speech = hasEspeak();
afterAll(() => tmp.cleanup());

function matchesOf(r: ScanResult | ScanFailure): ScanMatch[] {
  if (!('matches' in r)) throw new Error(`scan failed: ${r.error.code} ${r.error.message}`);
  return r.matches;
}

describeIf(speech, 'espeak-ng')('origin of a match: reference reuse, new media, unknown', () => {
  let guard: Guard;
  let a = '';
  let b = '';

  beforeAll(async () => {
    await referencePhoto(GRID_FACES[0]!, f('a.jpg'));
    referenceRecording(GRID_VOICES[0]!, RECORDING_TEXTS[0]!, f('a.wav'));
    await referencePhoto(GRID_FACES[2]!, f('b.jpg'));
    // The scanned media: A's photo mirrored, scaled to 80% and recompressed; a new sentence of A's voice; another
    // person's face and another voice; B's photo mirrored and recompressed.
    await sharp(f('a.jpg')).flop().resize(240).jpeg({ quality: 55 }).toFile(f('a-reuse.jpg'));
    makeSpeechWav(OTHER_TEXTS[0]!, f('a-new.wav'), GRID_VOICES[0]!);
    await referencePhoto(GRID_FACES[1]!, f('other.jpg'));
    makeSpeechWav(OTHER_TEXTS[1]!, f('other.wav'), GRID_VOICES[1]!);
    await sharp(f('b.jpg')).flop().jpeg({ quality: 60 }).toFile(f('b-reuse.jpg'));

    const g = await Guard.open({ db, key: KEY });
    a = (await g.enroll({ name: 'Performer A', noConsent: true }, [f('a.jpg'), f('a.wav')], { largest: true })).performerId!;
    b = (await g.enroll({ name: 'Performer B', noConsent: true }, [f('b.jpg')], { largest: true })).performerId!;
    await g.close();
    // B as if enrolled before fingerprints were kept: its reference has no fingerprint artefact.
    const d = new Database(db);
    const gone = d.prepare("DELETE FROM artifacts WHERE performer_id = ? AND kind = 'fingerprint'").run(b).changes;
    const left = (d.prepare("SELECT COUNT(*) AS n FROM artifacts WHERE kind = 'fingerprint'").get() as { n: number }).n;
    d.close();
    expect(gone).toBe(1);
    expect(left).toBe(2);
    guard = await Guard.open({ db, key: KEY });
  });

  afterAll(async () => {
    await guard?.close();
  });

  test('a reused photo (mirrored, recompressed) is reference-reuse of that photo, offset 0', async () => {
    const faces = matchesOf(await guard.scan(f('a-reuse.jpg'))).filter((m) => m.modality === 'face');
    expect(faces.map((m) => m.performerId)).toEqual([a]);
    const o = faces[0]!.origin;
    expect(o).toMatchObject({ kind: 'reference-reuse', referenceId: sha256File(f('a.jpg')), performerId: a, referenceOffset: 0 });
    expect(faces[0]!.segments[0]!.origin).toEqual(o);
    console.log(`reused photo: similarity ${o?.kind === 'reference-reuse' ? o.similarity : '-'}`);
  });

  test('another sentence of the same voice matches the voice as new-media', async () => {
    const voices = matchesOf(await guard.scan(f('a-new.wav'))).filter((m) => m.modality === 'voice');
    expect(voices.map((m) => m.performerId)).toEqual([a]);
    expect(voices[0]!.origin).toEqual({ kind: 'new-media' });
    for (const s of voices[0]!.segments) expect(s.origin).toEqual({ kind: 'new-media' });
  });

  test('an unrelated face and an unrelated voice match nobody', async () => {
    expect(matchesOf(await guard.scan(f('other.jpg')))).toEqual([]);
    expect(matchesOf(await guard.scan(f('other.wav')))).toEqual([]);
  });

  test('a performer whose references have no fingerprint gets origin unknown', async () => {
    const faces = matchesOf(await guard.scan(f('b-reuse.jpg'))).filter((m) => m.modality === 'face');
    expect(faces.map((m) => m.performerId)).toEqual([b]);
    expect(faces[0]!.origin).toEqual({ kind: 'unknown' });
  });
});

// Other photos of the same person are new media: each identity of ../shared/eval/faces/identities.csv with at least
// two photos is enrolled from its first photo (in file order) and scanned with up to two others.
const evalFaces = path.resolve(__dirname, '..', '..', '..', 'shared', 'eval', 'faces');
const haveEval = fs.existsSync(path.join(evalFaces, 'identities.csv'));

testIf(haveEval, '../shared/eval')('other photos of an enrolled identity (../shared/eval) are new-media, never reuse', async () => {
  const byId = new Map<string, string[]>();
  for (const line of fs.readFileSync(path.join(evalFaces, 'identities.csv'), 'utf8').split('\n').slice(1)) {
    const [file, identity] = line.split(',');
    if (!file || !identity) continue;
    byId.set(identity, [...(byId.get(identity) ?? []), path.join(evalFaces, file)]);
  }
  const ids = [...byId.entries()].filter(([, files]) => files.length >= 2);
  const g = await Guard.open({ db: f('eval.db'), key: KEY });
  try {
    const enrolled = new Map<string, string>();
    for (const [identity, files] of ids) {
      const r = await g.enroll({ name: identity, noConsent: true }, [files[0]!]);
      if (r.performerId) enrolled.set(r.performerId, identity);
    }
    const count = { identities: enrolled.size, scanned: 0, matchedSelf: 0, newMedia: 0, unknown: 0, reuse: [] as string[] };
    for (const [identity, files] of ids) {
      if (![...enrolled.values()].includes(identity)) continue;
      for (const file of files.slice(1, 3)) {
        count.scanned++;
        for (const m of matchesOf(await g.scan(file)).filter((x) => x.modality === 'face')) {
          const self = enrolled.get(m.performerId) === identity;
          if (self) count.matchedSelf++;
          if (m.origin?.kind === 'new-media' && self) count.newMedia++;
          if (m.origin?.kind === 'unknown') count.unknown++;
          for (const s of m.segments) if (s.origin?.kind === 'reference-reuse') count.reuse.push(`${path.relative(evalFaces, file)} -> ${enrolled.get(m.performerId)} (sim ${s.origin.similarity.toFixed(3)})`);
        }
      }
    }
    console.log(`eval identities: ${JSON.stringify(count)}`);
    expect(count.identities).toBeGreaterThanOrEqual(15);
    expect(count.reuse).toEqual([]);
    expect(count.unknown).toBe(0);
    // Most other photos are recognised as the same person, and each of those is new media.
    expect(count.matchedSelf).toBeGreaterThanOrEqual(count.scanned / 2);
    expect(count.newMedia).toBe(count.matchedSelf);
  } finally {
    await g.close();
  }
});
