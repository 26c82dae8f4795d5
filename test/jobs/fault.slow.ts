// Fault test of the PostgreSQL scan queue (npm run test:slow; .ci/run runs it): 3 workers drain 200 scan jobs of
// project-made images while one worker is SIGKILLed mid-job and restarted, one is cut off from the database mid-job
// (its connections go through a loopback TCP proxy that the test kills, then brings back), and PostgreSQL itself is
// restarted once. Afterwards every job has exactly one stored result: none lost, none duplicated.
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { Guard } from '../../src/guard';
import { JobQueue } from '../../src/jobs/queue';
import { freePort, postgresAvailable, startPostgres, type PgCluster } from '../helpers/postgres';
import { describeIf } from '../helpers/requires';
import { makeScanMedia } from '../helpers/scan-jobs';

const JOBS = 200;
const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'likeness.js');
const KEY = crypto.randomBytes(32).toString('hex');

/** A loopback TCP proxy to the cluster that can be cut (every connection destroyed, port closed) and restored. */
class Proxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  constructor(readonly port: number, private readonly target: number) {}
  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async cut(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

interface Worker {
  name: string;
  proc: ChildProcess;
  log: string[];
}

function startWorker(name: string, url: string): Worker {
  const proc = spawn(
    process.execPath,
    [BIN, 'worker', '--preset', 'fast', '--lease-s', '8', '--maintenance-s', '2', '--retry-delay-s', '1', '--retries', '10'],
    { cwd: ROOT, env: { ...process.env, LIKENESS_DB: url, LIKENESS_KEY: KEY, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const w: Worker = { name, proc, log: [] };
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    w.log.push(...lines);
  });
  return w;
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((resolve) => p.once('exit', () => resolve()));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stored results so far (0 while the server is away). */
async function storedCount(url: string): Promise<number> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM scan_results')).rows[0]!.n;
  } catch {
    return -1;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function until(url: string, n: number): Promise<number> {
  for (;;) {
    const s = await storedCount(url);
    if (s >= n) return s;
    await sleep(250);
  }
}

describeIf(postgresAvailable(), 'PostgreSQL 15 binaries (apt-get install postgresql-15)')('scan queue under faults', () => {
  let cluster: PgCluster;
  let dir: string;
  beforeAll(async () => {
    cluster = await startPostgres();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-fault-'));
  });
  afterAll(() => {
    cluster?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`${JOBS} jobs, 3 workers: a SIGKILL, a cut-off worker and a PostgreSQL restart lose and duplicate nothing`, async () => {
    const url = await cluster.createDatabase('fault');
    const media = await makeScanMedia(path.join(dir, 'media'), JOBS);
    const guard = await Guard.open({ db: url, key: KEY, facePreset: 'fast' });
    const enrolled = await guard.enroll({ name: 'Performer A', noConsent: true }, [media.reference], { largest: true });
    await guard.close();
    expect(enrolled.performerId).not.toBeNull();

    const queue = await JobQueue.open(url, { leaseSeconds: 8, retryLimit: 10, retryDelaySeconds: 1, supervise: false });
    const ids = await queue.submit(media.images);
    await queue.close();
    const pathOf = new Map(ids.map((id, i) => [id, media.images[i]!]));

    const proxy = new Proxy(await freePort(), cluster.port);
    await proxy.up();
    const proxied = url.replace(`:${cluster.port}/`, `:${proxy.port}/`);
    const workers = [startWorker('w0', url), startWorker('w1', url), startWorker('w2-proxied', proxied)];
    const events: string[] = [];
    const t0 = Date.now();
    const mark = (what: string, stored: number): void => {
      events.push(`${((Date.now() - t0) / 1000).toFixed(1)} s, ${stored} stored: ${what}`);
    };
    let killed: Worker | undefined;
    try {
      mark('SIGKILL w0 mid-job', await until(url, 30));
      killed = workers[0]!;
      killed.proc.kill('SIGKILL');
      await exited(killed.proc);
      workers[0] = startWorker('w0-restarted', url);
      mark('cut w2 off from the database (proxy killed)', await until(url, 70));
      await proxy.cut();
      mark('restart PostgreSQL', await until(url, 110));
      cluster.stop();
      await sleep(1000);
      cluster.start();
      mark('bring the proxy back', await until(url, 140));
      await proxy.up();
      mark('all stored', await until(url, JOBS));
      // Let leases of runs that were cut off expire and re-run: any late second run must store nothing.
      await sleep(10_000);
    } finally {
      for (const w of workers) w.proc.kill('SIGTERM');
      await Promise.all(workers.map((w) => exited(w.proc)));
      await proxy.cut();
    }

    const c = new Client({ connectionString: url });
    await c.connect();
    const rows = (await c.query<{ job_id: string; path: string; result: string }>('SELECT job_id, path, result FROM scan_results')).rows;
    await c.end();
    const lines = [...(killed?.log ?? []), ...workers.flatMap((w) => w.log)];
    const duplicateRuns = lines.filter((l) => l.includes('already stored')).length;
    const failedRuns = lines.filter((l) => l.includes('will be retried')).length;
    const stored = new Set(rows.map((r) => r.job_id));
    const lost = ids.filter((id) => !stored.has(id));
    const unknown = rows.filter((r) => !pathOf.has(r.job_id));
    const matched = rows.filter((r) => (JSON.parse(r.result) as { matches?: Array<{ performerId: string }> }).matches?.some((m) => m.performerId === enrolled.performerId)).length;
    // eslint-disable-next-line no-console
    console.log(
      [
        ...events,
        `jobs ${JOBS}; result rows ${rows.length}; distinct jobs with a result ${stored.size}; lost ${lost.length}; unknown ${unknown.length}`,
        `runs that found their result already stored (second runs, stored nothing) ${duplicateRuns}; runs failed and retried ${failedRuns}`,
        `results naming performer A ${matched}; wall ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      ].join('\n'),
    );
    expect(rows.length).toBe(JOBS);
    expect(stored.size).toBe(JOBS);
    expect(lost).toEqual([]);
    expect(unknown).toEqual([]);
    for (const r of rows) {
      expect(r.path).toBe(pathOf.get(r.job_id));
      expect((JSON.parse(r.result) as { jobId: string; media: { path: string } }).media.path).toBe(pathOf.get(r.job_id));
    }
    // The faults really happened: the cut-off and the restart made runs fail and retry.
    expect(failedRuns).toBeGreaterThan(0);
    expect(matched).toBeGreaterThan(JOBS / 2);
  });
});
