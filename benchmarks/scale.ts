// Scale-out benchmark (npm run bench:scale -- [--json] [--jobs 200] [--runs 3] [--empty 1000]): a throwaway
// PostgreSQL 15 cluster, 200 scans of project-made images drained by 1 and then 2 `likeness worker` processes
// (`--concurrency 1`, one intra-op thread each, the fast face preset), best of 3 each, and their ratio; then the queue's
// own overhead: 1 worker drains 1,000 empty jobs (paths that do not exist: stored as E_NOT_FOUND), and
// (wall time - handler time) / 1,000 is what the queue adds per job. Load averages are reported with each run.
// Each throughput run first drains 3 warm-up jobs per worker (model loading) outside the timing.
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { Guard } from '../src/guard';
import { JobQueue } from '../src/jobs/queue';
import { startPostgres, type PgCluster } from '../test/helpers/postgres';
import { makeScanMedia } from '../test/helpers/scan-jobs';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'likeness.js');
const KEY = crypto.randomBytes(32).toString('hex');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

interface Worker {
  proc: ChildProcess;
  ready: Promise<void>;
  handlerMs: number;
}

function startWorker(url: string, extra: string[] = []): Worker {
  const proc = spawn(process.execPath, [BIN, 'worker', '--concurrency', '1', '--preset', 'fast', ...extra], {
    cwd: ROOT,
    env: { ...process.env, LIKENESS_DB: url, LIKENESS_KEY: KEY, OMP_NUM_THREADS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const w: Worker = { proc, ready: Promise.resolve(), handlerMs: 0 };
  let buf = '';
  w.ready = new Promise((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l.includes(': ready (')) resolve();
        const m = / in (\d+(?:\.\d+)?) ms$/.exec(l);
        if (m) w.handlerMs += Number(m[1]);
      }
    });
  });
  w.ready.catch(() => undefined);
  return w;
}

async function stopAll(ws: Worker[]): Promise<void> {
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.proc.exitCode !== null) return resolve();
          w.proc.once('exit', () => resolve());
          w.proc.kill('SIGTERM');
        }),
    ),
  );
}

async function waitStored(url: string, n: number): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    for (;;) {
      const r = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM scan_results');
      if (r.rows[0]!.n >= n) return;
      await new Promise((res) => setTimeout(res, 20));
    }
  } finally {
    await c.end();
  }
}

let dbs = 0;
/** A fresh database with performer A enrolled and the queue installed. */
async function freshDb(cluster: PgCluster, reference: string): Promise<string> {
  const url = await cluster.createDatabase(`scale${++dbs}`);
  const g = await Guard.open({ db: url, key: KEY, facePreset: 'fast' });
  await g.enroll({ name: 'Performer A', noConsent: true }, [reference], { largest: true });
  await g.close();
  const q = await JobQueue.open(url, { supervise: false });
  await q.close();
  return url;
}

/** Starts `n` workers, waits until all are ready, submits `paths`, times until every result is stored. */
async function drain(url: string, n: number, paths: string[], extra: string[] = [], warmup = true): Promise<{ seconds: number; handlerMs: number; load: number[] }> {
  const ws = Array.from({ length: n }, () => startWorker(url, extra));
  try {
    await Promise.all(ws.map((w) => w.ready));
    const q = await JobQueue.open(url, { supervise: false });
    // Warm-up outside the timing: models load on a worker's first scan. A few jobs per worker, drained first.
    const warm = warmup ? paths.slice(0, 3 * n) : [];
    if (warm.length) {
      await q.submit(warm);
      await waitStored(url, warm.length);
    }
    const handlerBefore = ws.reduce((s, w) => s + w.handlerMs, 0);
    const t0 = performance.now();
    await q.submit(paths);
    await waitStored(url, warm.length + paths.length);
    const seconds = (performance.now() - t0) / 1000;
    await q.close();
    return { seconds, handlerMs: ws.reduce((s, w) => s + w.handlerMs, 0) - handlerBefore, load: os.loadavg().map((x) => Math.round(x * 100) / 100) };
  } finally {
    await stopAll(ws);
  }
}

async function main(): Promise<void> {
  const jobs = arg('jobs', 200);
  const runs = arg('runs', 3);
  const empty = arg('empty', 1000);
  const cluster = await startPostgres();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-scale-'));
  try {
    const media = await makeScanMedia(path.join(dir, 'media'), jobs);
    const perWorkers: Record<string, { jobsPerSecond: number[]; best: number; load: number[][] }> = {};
    for (const n of [1, 2]) {
      const jps: number[] = [];
      const load: number[][] = [];
      for (let r = 0; r < runs; r++) {
        const url = await freshDb(cluster, media.reference);
        const d = await drain(url, n, media.images);
        jps.push(Math.round((jobs / d.seconds) * 100) / 100);
        load.push(d.load);
        process.stderr.write(`${n} worker(s), run ${r + 1}: ${jps[jps.length - 1]} jobs/s (load ${d.load.join(' ')})\n`);
      }
      perWorkers[String(n)] = { jobsPerSecond: jps, best: Math.max(...jps), load };
    }
    const url = await freshDb(cluster, media.reference);
    const missing = Array.from({ length: empty }, (_, i) => path.join(dir, 'empty', `none-${i}.jpg`));
    const batch = arg('batch', 20);
    const e = await drain(url, 1, missing, ['--batch', String(batch)], false);
    const overheadMs = ((e.seconds * 1000 - e.handlerMs) / empty);
    const out = {
      jobs,
      runs,
      cpus: os.cpus().length,
      workers: perWorkers,
      ratio2to1: Math.round((perWorkers['2']!.best / perWorkers['1']!.best) * 100) / 100,
      queueOverhead: {
        emptyJobs: empty,
        batch,
        wallMs: Math.round(e.seconds * 1000),
        handlerMs: Math.round(e.handlerMs),
        perJobMs: Math.round(overheadMs * 100) / 100,
        load: e.load,
      },
    };
    if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(`1 worker: best ${out.workers['1']!.best} jobs/s; 2 workers: best ${out.workers['2']!.best} jobs/s; ratio ${out.ratio2to1}`);
      console.log(`queue overhead: ${out.queueOverhead.perJobMs} ms/job over ${empty} empty jobs`);
    }
  } finally {
    cluster.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
