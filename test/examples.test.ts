import { createHash } from 'crypto';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import type { DemoMedia, Interval } from '../examples/media';
import type { AddressInfo } from 'net';
import { createServer } from '../examples/upload-moderation';
import { probeMedia } from '../src/media/ffmpeg';
import { Guard } from '../src/guard';
import { isScanFailure, type ScanReportFile, type ScanResult } from '../src/report/schema';
import { hasEspeak, makeTmpDir } from './helpers/media';
import { CHROMIUM, viewInChromium } from './report-browser';
import { describeIf } from './helpers/requires';

// Every example and the quick-start demo run as users run them (`node -r @swc-node/register examples/X.ts`), in a
// child process with a temporary LIKENESS_HOME and output folder, and their output is checked against how the
// example media were made (examples/media.ts writes the ground truth into media.json).

const ROOT = path.resolve(__dirname, '..');
const run = promisify(execFile);
const canRun = hasEspeak();
if (!canRun) console.warn('examples: skipped, espeak-ng is missing (apt-get install espeak-ng)');
const maybe = describeIf(canRun, 'espeak-ng and ffmpeg');

maybe('examples', () => {
  const tmp = makeTmpDir('likeness-examples-');
  const sharedMedia = path.join(tmp.dir, 'media');
  afterAll(() => tmp.cleanup());
  // The examples make throwaway stores with random keys; a developer's own key or data folder must not leak in.
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(LIKENESS_|DEMO_OUT$|EXAMPLE_OUT$)/.test(k)));

  /** Runs an example; returns its stdout (stderr is shown when it fails). */
  async function example(name: string, env: Record<string, string> = {}, args: string[] = []): Promise<string> {
    const out = path.join(tmp.dir, name);
    try {
      const { stdout } = await run(process.execPath, ['-r', '@swc-node/register', path.join('examples', `${name}.ts`), ...args], {
        cwd: ROOT,
        env: { ...childEnv, LIKENESS_HOME: path.join(tmp.dir, 'home'), EXAMPLE_OUT: out, LIKENESS_EXAMPLE_MEDIA: sharedMedia, ...env },
        timeout: 300_000,
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${name} failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`);
    }
  }

  /** Every true interval has a reported segment whose ends are within `tol` s of its own. */
  function covered(truth: readonly Interval[], found: readonly Interval[], tol: number): boolean {
    return truth.every((t) => found.some((f) => Math.abs(f.start - t.start) <= tol && Math.abs(f.end - t.end) <= tol));
  }

  it('demo: enrolls the sample performer, finds their face and voice in the ad, writes the report', async () => {
    const demoOut = path.join(tmp.dir, 'demo');
    const stdout = await example('demo', { DEMO_OUT: demoOut });
    const media = JSON.parse(fs.readFileSync(path.join(demoOut, 'media', 'media.json'), 'utf8')) as DemoMedia;
    const report = JSON.parse(fs.readFileSync(path.join(demoOut, 'report.json'), 'utf8')) as ScanReportFile;
    expect(report.results).toHaveLength(3);
    const [ad, still, others] = report.results as ScanResult[];
    expect(report.results.some(isScanFailure)).toBe(false);

    const face = ad!.matches.find((m) => m.modality === 'face');
    expect(face).toMatchObject({ name: 'Sample Performer', decision: 'match' });
    expect(covered(media.truth.performerFace, face!.segments, 0.5)).toBe(true);
    const voice = ad!.matches.find((m) => m.modality === 'voice');
    expect(voice?.decision).toBe('match');
    // The other speakers' turns (separated by pauses) are not in the performer's segments.
    for (const o of media.truth.otherVoices) {
      for (const s of voice!.segments) expect(Math.min(s.end, o.end) - Math.max(s.start, o.start)).toBeLessThan(0.5);
    }
    // Speaker turns: every voice segment lies within 0.5 s of the performer's speech, and covers at least half of it.
    for (const s of voice!.segments) expect(media.truth.performerVoice.some((t) => s.start >= t.start - 0.5 && s.end <= t.end + 0.5)).toBe(true);
    for (const t of media.truth.performerVoice) {
      expect(Math.max(...voice!.segments.map((s) => Math.min(s.end, t.end) - Math.max(s.start, t.start)))).toBeGreaterThanOrEqual(0.5 * (t.end - t.start));
    }
    expect(ad!.verdicts.find((v) => v.overlaps.length > 0)?.decision).toBe('match');
    expect(ad!.matches.every((m) => m.name === 'Sample Performer')).toBe(true);
    expect(still!.matches.map((m) => m.decision)).toEqual(['match']);
    expect(others!.matches).toEqual([]);

    const html = fs.readFileSync(path.join(demoOut, 'report.html'), 'utf8');
    expect(html).toContain('<h3><bdi>Sample Performer');
    expect(html).toContain(ad!.media.sha256);
    expect(html).toMatch(/<img src="data:image\/jpeg;base64,/);
    expect(stdout).toMatch(/^ {2}ad\.mp4: Sample Performer — face match at \d/m);
    expect(stdout).toContain('still-others.jpg: no enrolled performer');
    expect(stdout).toContain('report.html');

    // The page a reviewer opens: loads offline without errors and shows the performer with their face crops.
    if (!fs.existsSync(CHROMIUM)) return console.warn(`examples: demo report not opened, ${CHROMIUM} is missing`);
    const view = await viewInChromium(path.join(demoOut, 'report.html'));
    expect(view.problems).toEqual([]);
    expect(view.performers).toEqual(['Sample Performer']);
    // The ad's best face track where first, best and last seen, and the still.
    const expected = report.results.flatMap((r) => (isScanFailure(r) ? [] : r.matches)).reduce((n, m) => n + (m.evidence.faceCrops?.length ?? (m.evidence.faceCrop ? 1 : 0)), 0);
    expect(expected).toBeGreaterThanOrEqual(3);
    expect(view.crops.length).toBe(expected);
    for (const c of view.crops) expect(c.ok && c.width > 32).toBe(true);
    // The enrolled reference beside them: one face reference, so one thumbnail of at most 96 px.
    expect(view.references).toHaveLength(1);
    expect(view.references[0]!.ok && view.references[0]!.width > 32 && view.references[0]!.width <= 96).toBe(true);
    expect(view.noThumbnail).toBe(0);
    // Origin (issue 16): the ad's speech is another sentence than the enrolled recording, so the voice is new media;
    // the ad's faces are re-framed, darker, mirrored cuts of the source of the enrolled photo, so a face segment is a
    // reuse of that photo (with its thumbnail beside it) or new media, never another reference.
    const matches = report.results.flatMap((r) => (isScanFailure(r) ? [] : r.matches));
    const segs = matches.flatMap((m) => m.segments.map((sg) => ({ modality: m.modality, origin: sg.origin })));
    const photoSha = createHash('sha256').update(fs.readFileSync(media.referencePhoto)).digest('hex');
    for (const sg of segs) {
      if (sg.modality === 'voice') expect(sg.origin).toEqual({ kind: 'new-media' });
      else if (sg.origin?.kind === 'reference-reuse') expect(sg.origin.referenceId).toBe(photoSha);
      else expect(sg.origin).toEqual({ kind: 'new-media' });
    }
    expect(view.origins.length).toBe(matches.length);
    expect(view.originThumbnails.length).toBe(segs.filter((sg) => sg.modality === 'face' && sg.origin?.kind === 'reference-reuse').length);
    expect(view.origins.join(' ').toLowerCase()).not.toContain('synthetic');
  });

  it('enroll-and-scan: reports the performer in the ad with segments and evidence', async () => {
    const stdout = await example('enroll-and-scan');
    expect(stdout).toMatch(/^enrolled Sample Performer \(.+\) from reference\.jpg \[face\], reference-voice\.wav \[voice\]$/m);
    expect(stdout).toMatch(/^ad\.mp4: MATCH \(video, 12 s, \d+ ms\)$/m);
    expect(stdout).toMatch(/^ {2}Sample Performer face match confidence=[\d.]+ segments=[\d.]+-[\d.]+/m);
    const json = JSON.parse(stdout.slice(stdout.indexOf('\n{') + 1)) as ScanResult;
    expect(json.media).toMatchObject({ kind: 'video', width: 1280, height: 720, duration: 12 });
    const face = json.matches.find((m) => m.modality === 'face')!;
    expect(face.evidence.faceCrop).toMatch(/^data:image\/jpeg;base64,/);
    const media = JSON.parse(fs.readFileSync(path.join(sharedMedia, 'media.json'), 'utf8')) as DemoMedia;
    expect(covered(media.truth.performerFace, face.segments, 0.5)).toBe(true);
    // The ad is what the README promises: 12 s of 1280x720 H.264 with AAC speech.
    const info = await probeMedia(media.adVideo);
    expect(info.duration).toBeCloseTo(12, 1);
    expect(info.streams.map((st) => [st.type, st.codec, st.width ?? null, st.height ?? null])).toEqual([
      ['video', 'h264', 1280, 720],
      ['audio', 'aac', null, null],
    ]);
    expect(media.truth.performerVoice.length).toBe(1);
  });

  it('batch-scan-a-folder: scans every file, reports the broken one and goes on', async () => {
    const stdout = await example('batch-scan-a-folder');
    const out = path.join(tmp.dir, 'batch-scan-a-folder');
    const line = (rel: string): string => stdout.split('\n').find((l) => l.endsWith(`] ${rel}`) || l.includes(`] ${rel}: `)) ?? '';
    expect(line('uploads/poster.jpg')).toMatch(/: MATCH Sample Performer \(face, /);
    expect(line('voiceover.wav')).toMatch(/: MATCH Sample Performer \(voice, /);
    expect(line('uploads/day2/group.jpg')).toMatch(/: clean$/);
    expect(line('radio-spot.wav')).toMatch(/: clean$/);
    expect(line('uploads/day2/broken.mp4')).toMatch(/: FAILED E_DECODE$/);
    expect(stdout).toContain('done: 5 files, 2 with a match, 1 could not be scanned');
    const jsonl = fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8').trim().split('\n');
    expect(jsonl).toHaveLength(5);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('E_DECODE');
  });

  it('upload-moderation: rejects the upload with the performer, accepts the other', async () => {
    const stdout = await example('upload-moderation');
    expect(stdout).toMatch(/^moderation server on http:\/\/127\.0\.0\.1:\d+\/upload$/m);
    expect(stdout).toMatch(/^still-performer\.jpg: HTTP 422 REJECTED: an enrolled performer appears in this upload: Sample Performer \(face match, /m);
    expect(stdout).toMatch(/^still-others\.jpg: HTTP 201 ACCEPTED: no enrolled performer found$/m);
  });

  it('upload-moderation hook: refuses wrong routes, empty, oversized and unreadable uploads without crashing', async () => {
    const guard = await Guard.open({ db: path.join(tmp.dir, 'hook.db'), key: null, facePreset: 'fast' });
    const server = createServer(guard);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const post = async (body: Uint8Array, url = '/upload'): Promise<{ status: number; json: Record<string, unknown> }> => {
        const res = await fetch(base + url, { method: 'POST', body });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      expect((await post(Buffer.from('x'), '/other')).status).toBe(404);
      expect((await post(new Uint8Array(0))).status).toBe(400);
      expect((await post(Buffer.alloc(21 * 1024 * 1024))).status).toBe(413);
      const junk = await post(Buffer.from('GIF89a but not really an image, just text'));
      expect(junk.status).toBe(415);
      expect(junk.json).toMatchObject({ accepted: false, reason: expect.stringMatching(/^E_(DECODE|UNSUPPORTED): /) });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await guard.close();
    }
  });
});
