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
      throw e; // pg-boss marks the run failed and retries it with backoff
    }
  };

  try {
    for (let i = 0; i < concurrency; i++) {
      await queue.boss.work<ScanJobData>(SCAN_QUEUE, { batchSize: 1, pollingIntervalSeconds: pollSeconds }, async (jobs) => {
        for (const j of jobs) await handle(j.id, j.data);
      });
    }
    emit({ type: 'ready', worker, concurrency });
    await new Promise<void>((resolve) => {
      if (!opts.signal) return; // runs until the process ends
      if (opts.signal.aborted) resolve();
      else opts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    // Graceful: stop fetching, let running handlers finish (their results are stored), then close.
    await queue.boss.stop({ graceful: true, wait: true, close: true, timeout: 3_600_000 }).catch(() => undefined);
    await queue.results.close();
    await guard.close().catch(() => undefined);
  }
  return summary;
}
