import * as os from 'os';
import { LikenessError, isLikenessError } from '../errors';
import { Guard, type GuardOptions } from '../guard';
import type { ScanFailure, ScanResult } from '../report/schema';
import type { ScanOptions } from '../scan/scanner';
import { fn, int, invalid, options, str } from '../validate';
import { JobQueue, SCAN_QUEUE, type QueueOptions, type ScanJobData } from './queue';

/** What a worker reports as it goes. */
export type WorkerEvent =
  | { type: 'ready'; worker: string; concurrency: number }
  | { type: 'start'; jobId: string; path: string }
  | { type: 'stored' | 'duplicate'; jobId: string; path: string; ms: number; error: string | null }
  | { type: 'retry'; jobId: string; path: string; ms: number; code: string; message: string };

/** Options of {@link runWorker}. */
export interface WorkerOptions extends QueueOptions {
  /** The PostgreSQL store (`postgres://...`), holding the registry, the queue and the results. */
  db: string;
  /** Jobs this process runs at once (default 1). */
  concurrency?: number;
  /** How the Guard is opened (key, presets, limits); `db` is the one above. */
  guard?: Omit<GuardOptions, 'db'>;
  /** Options of each scan (fps, far...). */
  scan?: ScanOptions;
  /** Abort to stop: no new job is taken, the current ones finish and are stored, then it resolves. */
  signal?: AbortSignal;
  /** Progress callback. */
  onEvent?: (e: WorkerEvent) => void;
  /** Seconds between polls when the queue is empty (pg-boss minimum 0.5; default 1). */
  pollSeconds?: number;
  /**
   * Jobs each loop fetches at once (default 1). Larger batches save queue round trips on short jobs; the batch's
   * successes are completed together after it, so a worker killed mid-batch re-runs them (storing nothing twice).
   */
  batchSize?: number;
}

/** What a worker did before it stopped. */
export interface WorkerSummary {
  stored: number;
  duplicates: number;
  retried: number;
  /** Milliseconds spent inside scans and result writes (the rest is queue overhead). */
  handlerMs: number;
}

/**
 * Runs a scan worker until `signal` aborts: takes jobs from the PostgreSQL queue, scans each path through the
 * {@link Guard} (galleries follow enroll, delete and consent changes made anywhere: every search checks the store's
 * change counter), and stores one result per job. Inputs that cannot be scanned are stored with their typed error;
 * store, key and model faults fail the run so pg-boss retries it with backoff; a job run twice stores one result.
 */
export async function runWorker(opts: WorkerOptions): Promise<WorkerSummary> {
  options('worker options', opts);
  const db = str('db', opts.db);
  const concurrency = int('concurrency', opts.concurrency ?? 1, 1, 64);
  const pollSeconds = opts.pollSeconds ?? 1;
  const batchSize = int('batchSize', opts.batchSize ?? 1, 1, 100);
  if (!(pollSeconds >= 0.5 && pollSeconds <= 60)) throw invalid('pollSeconds must be within [0.5, 60]');
  if (opts.onEvent !== undefined) fn('onEvent', opts.onEvent);
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
  if (opts.guard !== undefined) options('guard options', opts.guard);
  if (opts.scan !== undefined) options('scan options', opts.scan);
  const emit = opts.onEvent ?? (() => undefined);
  const queue = await JobQueue.open(db, opts);
  let guard: Guard;
  try {
    guard = await Guard.open({ ...(opts.guard ?? {}), db });
  } catch (e) {
    await queue.close();
    throw e;
  }
  const summary: WorkerSummary = { stored: 0, duplicates: 0, retried: 0, handlerMs: 0 };
  const worker = `${os.hostname()}:${process.pid}`;

  const handle = async (jobId: string, data: ScanJobData): Promise<void> => {
    const t0 = performance.now();
    emit({ type: 'start', jobId, path: data.path });
    try {
      const result: ScanResult | ScanFailure = await guard.scan(data.path, opts.scan ?? {});
      const failure = 'error' in result ? result : null;
      const named = failure ? [] : [...(result as ScanResult).matches.map((m) => m.performerId), ...(result as ScanResult).verdicts.map((v) => v.performerId)];
      const line = JSON.stringify({ ...result, jobId });
      const outcome = await queue.results.put(jobId, data.path, line, failure ? failure.error.code : null, named);
      if (outcome === 'consent-changed') {
        throw new LikenessError('E_CONSENT', 'a performer this result names lost consent before it was stored: scanning again');
      }
      const ms = performance.now() - t0;
      summary.handlerMs += ms;
      if (outcome === 'stored') summary.stored++;
      else summary.duplicates++;
      emit({ type: outcome, jobId, path: data.path, ms, error: failure ? failure.error.code : null });
    } catch (e) {
      const ms = performance.now() - t0;
      summary.handlerMs += ms;
      summary.retried++;
      emit({
        type: 'retry',
        jobId,
        path: data.path,
        ms,
        code: isLikenessError(e) ? e.code : 'E_INTERNAL',
        message: e instanceof Error ? e.message : String(e),
      });
      throw e; // the run is marked failed; pg-boss retries it with backoff
    }
  };

  // Our own fetch loop rather than boss.work(): work() waits a whole polling interval after every job, while this
  // takes the next job at once and only sleeps when the queue is empty (or the database is unreachable).
  let stopping = opts.signal?.aborted ?? false;
  const wakers = new Set<() => void>();
  const onAbort = (): void => {
    stopping = true;
    for (const w of wakers) w();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (stopping) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });
  const loop = async (): Promise<void> => {
    while (!stopping) {
      let jobs: Array<{ id: string; data: ScanJobData }>;
      try {
        jobs = await queue.boss.fetch<ScanJobData>(SCAN_QUEUE, { batchSize });
      } catch {
        await sleep(pollSeconds * 1000); // the database is away (restart, network): try again
        continue;
      }
      if (jobs.length === 0) {
        await sleep(pollSeconds * 1000);
        continue;
      }
      const done: string[] = [];
      for (const j of jobs) {
        try {
          await handle(j.id, j.data);
          done.push(j.id);
        } catch (e) {
          await queue.boss
            .fail(SCAN_QUEUE, j.id, { code: isLikenessError(e) ? e.code : 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) })
            .catch(() => undefined); // cut off from the database: the lease expires and the job runs again
        }
      }
      if (done.length > 0) {
        // Cut off from the database: the leases expire and the jobs run again; their results stay stored once.
        await queue.boss.complete(SCAN_QUEUE, done).catch(() => undefined);
      }
    }
  };
  try {
    const loops = Array.from({ length: concurrency }, () => loop());
    emit({ type: 'ready', worker, concurrency });
    if (!opts.signal) await new Promise<never>(() => undefined); // runs until the process ends
    await Promise.all(loops); // after abort: the current jobs finish and are stored
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await queue.boss.stop({ graceful: true, wait: true, close: true }).catch(() => undefined);
    await queue.results.close();
    await guard.close().catch(() => undefined);
  }
  return summary;
}
