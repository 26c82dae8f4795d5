// The PostgreSQL scan queue end to end (two workers in this process, each with its own Guard and gallery): results
// are stored once per job with `jobId` and the submitted path, undecodable inputs are stored with their typed error,
// and a consent withdrawal made through a third Guard stops matches in every worker.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guard } from '../../src/guard';
import { JobQueue } from '../../src/jobs/queue';
import { runWorker, type WorkerEvent, type WorkerSummary } from '../../src/jobs/worker';
import { postgresAvailable, startPostgres, type PgCluster } from '../helpers/postgres';
import { describeIf } from '../helpers/requires';
import { makeScanMedia } from '../helpers/scan-jobs';

const KEY = crypto.randomBytes(32).toString('hex');
const CONSENT = { grantedBy: 'the performer', grantedAt: '2026-01-01T00:00:00Z', scope: 'monitoring' };

describeIf(postgresAvailable(), 'PostgreSQL 15 binaries (apt-get install postgresql-15)')('PostgreSQL scan queue', () => {
  let cluster: PgCluster;
  let dir: string;
  beforeAll(async () => {
    cluster = await startPostgres();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-jobs-'));
  });
  afterAll(() => {
    cluster?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('consent withdrawn in one process stops matches in every worker; one result per job', async () => {
    const url = await cluster.createDatabase('jobs');
    const media = await makeScanMedia(path.join(dir, 'm'), 24);
    const admin = await Guard.open({ db: url, key: KEY, facePreset: 'fast' });
    const a = await admin.enroll({ name: 'Performer A', consent: CONSENT }, [media.reference], { largest: true });
    expect(a.performerId).not.toBeNull();

    const stop = new AbortController();
    const byWorker: Array<Map<string, WorkerEvent>> = [new Map(), new Map()];
    const workers: Array<Promise<WorkerSummary>> = [0, 1].map((w) =>
      runWorker({
        db: url,
        guard: { key: KEY, facePreset: 'fast' },
        pollSeconds: 0.5,
        signal: stop.signal,
        onEvent: (e) => {
          if (e.type !== 'ready' && e.type !== 'start') byWorker[w]!.set(e.jobId, e);
        },
      }),
    );
    const queue = await JobQueue.open(url, { supervise: false });
    try {
      const missing = path.join(dir, 'no-such-file.jpg');
      const before = await queue.submit([...media.images.slice(0, 12), missing]);
      expect(await queue.wait(before, { pollMs: 100 })).toEqual({ results: 13, failed: 0 });
      const namesA = (jobId: string): boolean => {
        const r = JSON.parse(results.get(jobId)!) as { matches?: Array<{ performerId: string }>; verdicts?: Array<{ performerId: string }> };
        return [...(r.matches ?? []), ...(r.verdicts ?? [])].some((m) => m.performerId === a.performerId);
      };
      let results = new Map((await queue.storedResults()).map((r) => [r.jobId, r.result]));
      expect(before.slice(0, 12).filter(namesA)).toHaveLength(12);
      const failure = JSON.parse(results.get(before[12]!)!) as { jobId: string; media: { path: string }; error: { code: string } };
      expect(failure).toMatchObject({ jobId: before[12], media: { path: missing }, error: { code: 'E_NOT_FOUND' } });
      // Both workers built their gallery with A in it.
      for (const w of byWorker) expect(before.filter((id) => w.has(id)).length).toBeGreaterThan(0);

      await admin.withdrawConsent(a.performerId!);
      const after = await queue.submit(media.images.slice(12));
      expect(await queue.wait(after, { pollMs: 100 })).toEqual({ results: 12, failed: 0 });
      results = new Map((await queue.storedResults()).map((r) => [r.jobId, r.result]));
      expect(after.filter(namesA)).toEqual([]);
      for (const w of byWorker) expect(after.filter((id) => w.has(id)).length).toBeGreaterThan(0);
      // Exactly one stored result per job, each carrying its job id and the submitted path.
      const rows = await queue.storedResults();
      expect(rows.map((r) => r.jobId).sort()).toEqual([...before, ...after].sort());
      for (const r of rows) expect((JSON.parse(r.result) as { jobId: string }).jobId).toBe(r.jobId);
      expect(await queue.storedResults({ jobId: after[0]! })).toHaveLength(1);
      expect((await queue.jobs({ status: 'completed' })).length).toBe(25);
    } finally {
      stop.abort();
      const summaries = await Promise.all(workers);
      expect(summaries.reduce((n, s) => n + s.stored, 0)).toBe(25);
      await queue.close();
      await admin.close();
    }
  });

  test('stopping a worker (SIGTERM in the CLI) lets the job it is running finish and be stored; the rest stay queued', async () => {
    const url = await cluster.createDatabase('stop');
    const media = await makeScanMedia(path.join(dir, 's'), 6);
    const queue = await JobQueue.open(url, { supervise: false });
    try {
      const ids = await queue.submit(media.images);
      const stop = new AbortController();
      let started: string | null = null;
      const summary = await runWorker({
        db: url,
        guard: { key: KEY, facePreset: 'fast' },
        pollSeconds: 0.5,
        signal: stop.signal,
        onEvent: (e) => {
          if (e.type === 'start' && started === null) {
            started = e.jobId;
            stop.abort(); // mid-job
          }
        },
      });
      expect(started).not.toBeNull();
      expect(summary.stored).toBe(1);
      expect((await queue.storedResults()).map((r) => r.jobId)).toEqual([started]);
      const states = await queue.jobs();
      expect(states.filter((j) => j.state === 'completed').map((j) => j.id)).toEqual([started]);
      expect(states.filter((j) => j.state === 'created')).toHaveLength(ids.length - 1);
    } finally {
      await queue.close();
    }
  });

  test('a job run twice stores one result (put is idempotent per job id)', async () => {
    const url = await cluster.createDatabase('twice');
    const queue = await JobQueue.open(url, { supervise: false });
    try {
      expect(await queue.results.put('job-1', '/x.jpg', '{"a":1}', null, [])).toBe('stored');
      expect(await queue.results.put('job-1', '/x.jpg', '{"a":2}', null, [])).toBe('duplicate');
      expect((await queue.storedResults({ jobId: 'job-1' })).map((r) => r.result)).toEqual(['{"a":1}']);
      // A result naming a performer that is not (or no longer) in the registry is refused: scan again.
      expect(await queue.results.put('job-2', '/y.jpg', '{}', null, ['gone'])).toBe('consent-changed');
      expect(await queue.storedResults({ jobId: 'job-2' })).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
