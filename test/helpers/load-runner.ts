import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Guard } from '../../src/guard';
import { ffmpegPath } from '../../src/media/ffmpeg';
import { sampleImage } from './images';

// The SQLite load test of issue #15: 8 processes scanning and one enrolling and deleting, on one store, for a bounded
// time. Checks: no SQLITE_BUSY (or any other error) reaches a caller, no acknowledged enrollment is lost, every
// acknowledged delete is gone, and each scanner's RSS at the end is within 50 MB of its RSS after warm-up.

/** Options of {@link runSqliteLoad}. */
export interface LoadOptions {
  /** Seconds the processes run after start-up (default 60). */
  seconds?: number;
  /** Scanning processes (default 8). */
  scanners?: number;
  /** Seconds after a process's start at which its warm-up RSS is taken (default: a third of `seconds`). */
  warmupSeconds?: number;
}

/** What the load test measured. */
export interface LoadFigures {
  seconds: number;
  scanners: number;
  scans: number;
  enrolls: number;
  deletes: number;
  errors: { code: string; message: string }[];
  busy: number;
  lostEnrollments: string[];
  undeleted: string[];
  rss: { pid: number; afterWarmupMB: number; endMB: number; growthMB: number }[];
  maxRssGrowthMB: number;
  wallS: number;
}

const CHILD = path.join(__dirname, 'load-child.ts');

function runChild(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '-r', '@swc-node/register', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`load child exited ${code}: ${out.slice(-500)} ${err.slice(-1500)}`));
      }
    });
  });
}

/** Runs the load test in a fresh temp folder and returns its figures (the caller asserts on them). */
export async function runSqliteLoad(opts: LoadOptions = {}): Promise<LoadFigures> {
  const seconds = opts.seconds ?? 60;
  const scanners = opts.scanners ?? 8;
  const warmupS = opts.warmupSeconds ?? seconds / 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-load-'));
  const env = { LIKENESS_HOME: path.join(dir, 'home'), LIKENESS_KEY: '9a'.repeat(32) };
  Object.assign(process.env, env);
  const db = path.join(dir, 'store.db');
  try {
    // Media: reference faces for the enroller, a photo and a short clip for the scanners.
    const refs: string[] = [];
    for (const [i, box] of [[1, { left: 1300, top: 50, width: 560, height: 560 }], [3, { left: 950, top: 100, width: 480, height: 480 }]] as const) {
      const f = path.join(dir, `ref${i}.jpg`);
      await sharp(sampleImage(i)).extract(box).jpeg({ quality: 90 }).toFile(f);
      refs.push(f);
    }
    const photo = path.join(dir, 'photo.jpg');
    await sharp(sampleImage(1)).resize(640).jpeg().toFile(photo);
    const clip = path.join(dir, 'clip.mp4');
    execFileSync(ffmpegPath(), ['-hide_banner', '-v', 'error', '-y', '-loop', '1', '-framerate', '5', '-t', '2', '-i', refs[0]!, '-vf', 'scale=320:320', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
    const g = await Guard.open({ db, facePreset: 'fast' });
    await g.enroll({ name: 'Base', noConsent: true }, [refs[0]!]);
    await g.close();
    const t0 = performance.now();
    const kids = [
      ...Array.from({ length: scanners }, () => runChild(['scan', db, String(seconds), String(warmupS), photo, clip])),
      runChild(['enroll', db, String(seconds), String(warmupS), ...refs]),
    ];
    const reports = await Promise.all(kids);
    const wallS = (performance.now() - t0) / 1000;
    for (const r of reports) if ('fatal' in r) throw new Error(`a load process failed to start: ${String(r.fatal)}`);
    const scan = reports.slice(0, scanners) as unknown as { pid: number; ops: number; errors: LoadFigures['errors']; busy: number; rssAfterWarmupMB: number; rssEndMB: number }[];
    const enr = reports[scanners] as unknown as { ops: number; errors: LoadFigures['errors']; busy: number; created: string[]; deleted: string[] };
    // The store after the run: every acknowledged enrollment still there (unless deleted), every delete gone.
    const check = await Guard.open({ db, facePreset: 'fast' });
    const present = new Set((await check.listPerformers()).map((p) => p.id));
    const deleted = new Set(enr.deleted);
    const lost: string[] = [];
    for (const id of enr.created) {
      if (deleted.has(id)) continue;
      if (!present.has(id) || (await check.performer(id)).references.length === 0) lost.push(id);
    }
    const undeleted = enr.deleted.filter((id) => present.has(id));
    await check.close();
    const rss = scan.map((s) => ({ pid: s.pid, afterWarmupMB: +s.rssAfterWarmupMB.toFixed(1), endMB: +s.rssEndMB.toFixed(1), growthMB: +(s.rssEndMB - s.rssAfterWarmupMB).toFixed(1) }));
    return {
      seconds,
      scanners,
      scans: scan.reduce((n, s) => n + s.ops, 0),
      enrolls: enr.created.length,
      deletes: enr.deleted.length,
      errors: [...scan.flatMap((s) => s.errors), ...enr.errors],
      busy: scan.reduce((n, s) => n + s.busy, 0) + enr.busy,
      lostEnrollments: lost,
      undeleted,
      rss,
      maxRssGrowthMB: Math.max(...rss.map((r) => r.growthMB)),
      wallS: +wallS.toFixed(1),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
