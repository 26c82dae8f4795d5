import Database from 'better-sqlite3';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import { escapeHtml } from '../../src/report/html';
import { sampleImage } from '../helpers/images';
import { makeTmpDir } from '../helpers/media';
import { scanCli } from '../helpers/scan-cli';

// Issue 12 item 2: every enrolled face keeps a small thumbnail (encrypted, in the enrollment transaction, deleted with
// the performer) that the HTML report shows beside the matched crops. Two performers are enrolled from crops of one
// photo and the whole photo is scanned; B's thumbnail is removed as if B had been enrolled before thumbnails existed.

const tmp = makeTmpDir('lg-thumb-');
const f = (n: string): string => path.join(tmp.dir, n);
const db = f('store.db');
process.env.LIKENESS_HOME = f('home');
process.env.LIKENESS_KEY = 'ab'.repeat(32);

let guard: Guard;
let a = '';
let b = '';

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

function raw<R>(sql: string, ...args: unknown[]): R[] {
  const d = new Database(db);
  try {
    const st = d.prepare(sql);
    return (st.reader ? st.all(...args) : (st.run(...args), [])) as R[];
  } finally {
    d.close();
  }
}

const cli = (...args: string[]) => scanCli(db, ...args);

beforeAll(async () => {
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(f('ref-a.jpg'));
  await sharp(sampleImage(1)).extract({ left: 650, top: 250, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(f('ref-b.jpg'));
  guard = await Guard.open({ db });
  a = (await guard.enroll({ name: 'Performer <A>', noConsent: true }, [f('ref-a.jpg')])).performerId!;
  b = (await guard.enroll({ name: 'Performer B', noConsent: true }, [f('ref-b.jpg')])).performerId!;
});

afterAll(async () => {
  await guard?.close();
  tmp.cleanup();
});

test('enrollment stores one thumbnail per face reference, encrypted: no JPEG bytes in the table', async () => {
  const rows = raw<{ performer_id: string; kind: string; key_id: string | null; data: Buffer; bytes: number }>('SELECT performer_id, kind, key_id, data, bytes FROM artifacts ORDER BY rowid');
  // Each photo reference also keeps its fingerprint (issue 16), in the same table.
  expect(rows.map((r) => [r.performer_id, r.kind])).toEqual([
    [a, 'thumbnail'],
    [a, 'fingerprint'],
    [b, 'thumbnail'],
    [b, 'fingerprint'],
  ]);
  const thumbs = await guard.referenceThumbnails([a, a, b]);
  expect(thumbs.map((t) => t.performerId)).toEqual([a, b]);
  for (const r of rows) expect(r.key_id).toMatch(/^k[0-9a-f]{16}$/); // fingerprints are encrypted like thumbnails
  for (const [i, r] of rows.filter((x) => x.kind === 'thumbnail').entries()) {
    expect(r.data.includes(JPEG_MAGIC)).toBe(false);
    const jpeg = Buffer.from(thumbs[i]!.thumbnails[0]!.thumbnail.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
    expect(jpeg.subarray(0, 3).equals(JPEG_MAGIC)).toBe(true);
    expect(jpeg.length).toBe(r.bytes);
    expect(r.data.includes(jpeg.subarray(16, 48))).toBe(false);
    const meta = await sharp(jpeg).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(96);
    expect(Math.max(meta.width!, meta.height!)).toBeGreaterThanOrEqual(64);
    expect(jpeg.length).toBeLessThan(16 * 1024);
  }
  // Neither the audit log nor an export without vectors carries the bytes.
  const b64 = thumbs[0]!.thumbnails[0]!.thumbnail.slice(30, 90);
  expect(JSON.stringify(await guard.exportPerformer(a))).not.toContain(b64);
  expect((await guard.exportPerformer(a)).artifacts).toEqual([expect.objectContaining({ kind: 'thumbnail', modality: 'face', encrypted: true }), expect.objectContaining({ kind: 'fingerprint', modality: 'face', encrypted: true })]);
  expect(JSON.stringify(raw('SELECT * FROM audit'))).not.toContain(b64);
});

test('the HTML report shows the thumbnail beside the crop, "no thumbnail" for an older enrollment; JSON output holds none', async () => {
  const [thumbA] = (await guard.referenceThumbnails([a]))[0]!.thumbnails;
  // B as enrolled before thumbnails were kept.
  raw('DELETE FROM artifacts WHERE performer_id = ?', b);
  const r = await cli(sampleImage(1), '--json', f('out.json'), '--report', f('out.html'));
  expect(r.code).toBe(0);
  const json = fs.readFileSync(f('out.json'), 'utf8');
  const found = JSON.parse(json).results[0].matches.map((m: { performerId: string }) => m.performerId);
  expect(found).toEqual(expect.arrayContaining([a, b]));
  expect(json).not.toContain('referenceThumbnails');
  expect(json).not.toContain(thumbA!.thumbnail.slice(30, 90));
  const html = fs.readFileSync(f('out.html'), 'utf8');
  const card = (name: string): string => {
    const start = html.indexOf(`<h3><bdi>${escapeHtml(name)}`);
    expect(start).toBeGreaterThan(0);
    return html.slice(start, html.indexOf('</article>', start));
  };
  const row = /<div class="crops">([\s\S]*?)<\/div>/.exec(card('Performer <A>'))![1]!;
  const refAt = row.indexOf(thumbA!.thumbnail);
  expect(refAt).toBeGreaterThan(0);
  const cropAt = row.indexOf('<figure><img src="data:image/jpeg;base64,');
  expect(cropAt).toBeGreaterThan(refAt); // the scanned crop right after the enrolled reference
  expect(card('Performer <A>')).not.toContain('no thumbnail');
  expect(card('Performer B')).toContain('no thumbnail');
  // The page names the sha256 of the JSON file it was rendered from (which has no thumbnails).
  expect(html).toContain(crypto.createHash('sha256').update(json).digest('hex'));
  // Stdout JSON (no --json) carries no thumbnail either.
  const out = await cli(sampleImage(1), '--report', f('out2.html'));
  expect(out.out).toContain('"schemaVersion"');
  expect(out.out).not.toContain('referenceThumbnails');
  expect(out.out).not.toContain(thumbA!.thumbnail.slice(30, 90));
});

test('re-enrolling the media of an older enrollment adds its thumbnail (the reference stays a duplicate)', async () => {
  expect((await guard.referenceThumbnails([b]))[0]!.thumbnails).toEqual([]);
  const r = await guard.enroll({ id: b }, [f('ref-b.jpg')]);
  expect(r.accepted).toEqual([expect.objectContaining({ modality: 'face', duplicate: true })]);
  expect((await guard.referenceThumbnails([b]))[0]!.thumbnails).toHaveLength(1);
  expect(raw<{ n: number }>('SELECT count(*) AS n FROM refs WHERE performer_id = ?', b)[0]!.n).toBe(1);
});

test('a hard delete removes the thumbnail with the performer', async () => {
  expect(raw<{ n: number }>('SELECT count(*) AS n FROM artifacts WHERE performer_id = ?', a)[0]!.n).toBe(2);
  expect(await guard.deletePerformer(a)).toBe(true);
  expect(raw<{ n: number }>('SELECT count(*) AS n FROM artifacts WHERE performer_id = ?', a)[0]!.n).toBe(0);
  expect(raw<{ n: number }>('SELECT count(*) AS n FROM artifacts')[0]!.n).toBe(2); // B's thumbnail and fingerprint stay
  expect(await guard.referenceThumbnails([a])).toEqual([{ performerId: a, thumbnails: [] }]);
});
