import * as crypto from 'crypto';
import { Client } from 'pg';
import PgBoss from 'pg-boss';
import { LikenessError, isLikenessError } from '../errors';
import { PgResultStore, type StoredResult } from '../store/pg-results';
import { isPostgresUrl, redactUrl } from '../store/postgres';
import { int, invalid, list, str } from '../validate';

/** The pg-boss queue scan jobs go to. */
export const SCAN_QUEUE = 'likeness-scan';
const INSTALL_LOCK = 0x6c696b71; // 'likq'

/** The schema pg-boss keeps its tables in (inside the store's database). */
export const BOSS_SCHEMA = 'likeness_boss';

/** A scan job's payload: the media path, absolute, on storage every worker can read. */
export interface ScanJobData {
  path: string;
}

/** Queue tuning (defaults suit production; tests shorten the lease). */
export interface QueueOptions {
  /** Seconds a worker may hold a job before it is given to another (a killed worker's job waits this long). Default 900. */
  leaseSeconds?: number;
  /** Retries of a job whose run failed (store or connection faults; undecodable inputs are not retried). Default 5. */
  retryLimit?: number;
  /** Seconds before the first retry; doubles each time (backoff). Default 2. */
  retryDelaySeconds?: number;
  /** How often pg-boss expires held jobs and retries them, in seconds. Default 30. */
  maintenanceSeconds?: number;
  /** Run pg-boss maintenance (expiring leases, archiving) in this process: workers do; listing commands need not. Default true. */
  supervise?: boolean;
}

/** A job as `likeness jobs` lists it. */
export interface JobInfo {
  id: string;
  path: string;
  state: 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';
  retryCount: number;
  createdOn: string;
  completedOn: string | null;
}

/** Job states `likeness jobs --status` accepts. */
export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;

/** The PostgreSQL job queue (pg-boss) and its result table. */
export class JobQueue {
  private constructor(
    /** The pg-boss instance (workers subscribe through it). */
    readonly boss: PgBoss,
    /** Stored results. */
    readonly results: PgResultStore,
    private readonly url: string,
  ) {}

  /**
   * Connects to the queue in the store's database, installing pg-boss's schema and the scan queue when missing.
   * @throws LikenessError E_INPUT for a non-PostgreSQL location, E_STORE when the server cannot be reached.
   */
  static async open(url: string, opts: QueueOptions = {}): Promise<JobQueue> {
    str('queue URL', url);
    if (!isPostgresUrl(url)) throw invalid(`jobs need a PostgreSQL store: pass --db postgres://... or set LIKENESS_DB (got ${url})`);
    const q = checkQueueOptions(opts);
    const boss = new PgBoss({
      connectionString: url,
      schema: BOSS_SCHEMA,
      max: 4,
      supervise: opts.supervise ?? true,
      maintenanceIntervalSeconds: q.maintenanceSeconds,
    });
    // Connection faults surface here while the server restarts; pg-boss keeps polling and recovers on its own.
    boss.on('error', () => undefined);
    let results: PgResultStore | undefined;
    // pg-boss's own install deadlocks when several processes start on a fresh database at once: one at a time.
    const lock = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    lock.on('error', () => undefined);
    try {
      await lock.connect();
      await lock.query('SELECT pg_advisory_lock($1)', [INSTALL_LOCK]);
      await boss.start();
      if (!(await boss.getQueue(SCAN_QUEUE))) {
        try {
          await boss.createQueue(SCAN_QUEUE, {
            name: SCAN_QUEUE,
            policy: 'standard',
            retryLimit: q.retryLimit,
            retryDelay: q.retryDelaySeconds,
            retryBackoff: true,
            expireInSeconds: q.leaseSeconds,
          });
        } catch (e) {
          // Another process created it at the same moment.
          if (!(await boss.getQueue(SCAN_QUEUE))) throw e;
        }
      }
      results = await PgResultStore.open(url);
    } catch (e) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      await results?.close();
      await lock.end().catch(() => undefined);
      throw isLikenessError(e) ? e : new LikenessError('E_STORE', `cannot open the job queue at ${redactUrl(url)}: ${(e as Error).message}`, undefined, { cause: e });
    }
    await lock.end().catch(() => undefined); // ending the session releases the lock
    return new JobQueue(boss, results, url);
  }

  /** Enqueues one scan job per path (absolute paths); returns the job ids in order. */
  async submit(paths: readonly string[]): Promise<string[]> {
    list<string>('paths', paths, 1).forEach((p, i) => str(`paths[${i}]`, p));
    const ids = paths.map(() => crypto.randomUUID());
    for (let i = 0; i < paths.length; i += 500) {
      const jobs = paths.slice(i, i + 500).map((p, j) => ({ id: ids[i + j]!, name: SCAN_QUEUE, data: { path: p } satisfies ScanJobData }));
      await this.wrap('submitting jobs', () => this.boss.insert(jobs));
    }
    return ids;
  }

  /** Jobs in the queue (live and archived), oldest first, optionally of one state. */
  async jobs(filter: { status?: JobInfo['state']; limit?: number } = {}): Promise<JobInfo[]> {
    const args: unknown[] = [SCAN_QUEUE];
    let where = 'name = $1';
    if (filter.status !== undefined) {
      args.push(filter.status);
      where += ` AND state = $${args.length}::${BOSS_SCHEMA}.job_state`;
    }
    const limit = filter.limit !== undefined ? `LIMIT ${int('limit', filter.limit, 1, 10_000_000)}` : '';
    const sql = `SELECT id::text, data->>'path' AS path, state::text, retry_count, created_on, completed_on FROM (
        SELECT id, data, state, retry_count, created_on, completed_on, name FROM ${BOSS_SCHEMA}.job
        UNION ALL SELECT id, data, state, retry_count, created_on, completed_on, name FROM ${BOSS_SCHEMA}.archive
      ) j WHERE ${where} ORDER BY created_on, id ${limit}`;
    const r = await this.wrap('listing jobs', () => this.boss.getDb().executeSql(sql, args));
    return (r.rows as Array<{ id: string; path: string; state: JobInfo['state']; retry_count: number; created_on: Date; completed_on: Date | null }>).map(
      (x) => ({
        id: x.id,
        path: x.path,
        state: x.state,
        retryCount: x.retry_count,
        createdOn: new Date(x.created_on).toISOString(),
        completedOn: x.completed_on ? new Date(x.completed_on).toISOString() : null,
      }),
    );
  }

  /** Stored results (see {@link PgResultStore.list}). */
  storedResults(filter: { jobId?: string; since?: string; afterSeq?: number } = {}): Promise<StoredResult[]> {
    return this.results.list(filter);
  }

  /**
   * Waits until every job in `ids` has a stored result or has failed for good; polls every `pollMs`.
   * @returns how many have results and how many failed.
   */
  async wait(ids: readonly string[], opts: { pollMs?: number; signal?: AbortSignal } = {}): Promise<{ results: number; failed: number }> {
    const poll = opts.pollMs ?? 500;
    for (;;) {
      const results = await this.results.countOf(ids);
      const failed = (
        await this.wrap('reading job states', () =>
          this.boss.getDb().executeSql(
            `SELECT count(*)::int AS n FROM (SELECT id, state FROM ${BOSS_SCHEMA}.job UNION ALL SELECT id, state FROM ${BOSS_SCHEMA}.archive) j
             WHERE j.id = ANY($1::uuid[]) AND j.state = 'failed'
               AND NOT EXISTS (SELECT 1 FROM scan_results r WHERE r.job_id = j.id::text)`,
            [[...ids]],
          ),
        )
      ).rows[0] as { n: number };
      if (results + failed.n >= ids.length) return { results, failed: failed.n };
      if (opts.signal?.aborted) throw new LikenessError('E_ABORTED', 'stopped waiting for jobs');
      await new Promise((r) => setTimeout(r, poll));
    }
  }

  /** Stops pg-boss (without waiting for other processes' jobs) and closes the result store. */
  async close(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, close: true }).catch(() => undefined);
    await this.results.close();
  }

  /** The connection string (workers open their Guard on it). */
  get location(): string {
    return this.url;
  }

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isLikenessError(e)) throw e;
      throw new LikenessError('E_STORE', `${what}: ${(e as Error).message}`, undefined, { cause: e });
    }
  }
}

/** Checks {@link QueueOptions} (E_INPUT) and fills the defaults. */
export function checkQueueOptions(o: QueueOptions): Required<Omit<QueueOptions, 'supervise'>> {
  return {
    leaseSeconds: int('leaseSeconds', o.leaseSeconds ?? 900, 1, 86_400),
    retryLimit: int('retryLimit', o.retryLimit ?? 5, 0, 100),
    retryDelaySeconds: int('retryDelaySeconds', o.retryDelaySeconds ?? 2, 0, 3600),
    maintenanceSeconds: int('maintenanceSeconds', o.maintenanceSeconds ?? 30, 1, 3600),
  };
}
