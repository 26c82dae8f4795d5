import { Pool } from 'pg';
import { LikenessError, isLikenessError } from '../errors';
import { str } from '../validate';
import { pgMigrate } from './pg-migrations';
import { redactUrl } from './postgres';
import type { Consent } from './types';

/** One stored job result. */
export interface StoredResult {
  /** Insertion order (for `results --since` paging). */
  seq: number;
  jobId: string;
  /** The media path as submitted. */
  path: string;
  /** The scan result or failure, as JSON text exactly as the worker produced it. */
  result: string;
  /** The error code when the input could not be scanned, else null. */
  errorCode: string | null;
  /** When it was stored (ISO-8601 UTC). */
  storedAt: string;
}

/** What {@link PgResultStore.put} did. */
export type PutOutcome =
  /** Stored now. */
  | 'stored'
  /** A result for this job was already stored (a job run twice): nothing written. */
  | 'duplicate'
  /** A performer the result names lost consent (or was deleted) before this commit: nothing written; scan again. */
  | 'consent-changed';

const RESULTS_LOCK = 0x6c696b72; // 'likr'

/**
 * Job results in the PostgreSQL store's database: one row per job id (a second run of a job stores nothing), written
 * in a transaction that re-checks the consent of every performer the result names.
 */
export class PgResultStore {
  private constructor(private pool: Pool | null, private readonly location: string) {}

  /** Connects, migrates the store schema and creates the results table when missing (under advisory locks: workers may start together). */
  static async open(url: string): Promise<PgResultStore> {
    str('store URL', url);
    const location = redactUrl(url);
    const pool = new Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 });
    pool.on('error', () => undefined);
    try {
      const c = await pool.connect();
      try {
        await pgMigrate(c); // the registry tables the consent re-check reads
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock($1)', [RESULTS_LOCK]);
        await c.query(`CREATE TABLE IF NOT EXISTS scan_results (
          seq BIGSERIAL UNIQUE,
          job_id TEXT PRIMARY KEY,
          path TEXT NOT NULL,
          result TEXT NOT NULL,
          error_code TEXT,
          stored_at TEXT NOT NULL
        )`);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        c.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw resultsError(e, `cannot open the results table at ${location}`);
    }
    return new PgResultStore(pool, location);
  }

  private get conn(): Pool {
    if (!this.pool) throw new LikenessError('E_STORE', 'the results store is closed');
    return this.pool;
  }

  /**
   * Stores a job's result unless one is stored already. `performerIds` are the performers the result reports: they
   * are read `FOR SHARE` in the same transaction, so a consent withdrawal either committed before (outcome
   * `consent-changed`, nothing stored) or waits until this result is stored.
   */
  async put(jobId: string, path: string, result: string, errorCode: string | null, performerIds: readonly string[]): Promise<PutOutcome> {
    const c = await this.conn.connect().catch((e: unknown) => {
      throw resultsError(e, `storing the result of job ${jobId}`);
    });
    let broken = false;
    try {
      await c.query('BEGIN');
      if (performerIds.length > 0) {
        const rows = (
          await c.query<{ id: string; consent: string | null }>('SELECT id, consent FROM performers WHERE id = ANY($1) FOR SHARE', [
            [...new Set(performerIds)],
          ])
        ).rows;
        const now = Date.now();
        const ok = new Set(rows.filter((r) => reportable(r.consent, now)).map((r) => r.id));
        if (performerIds.some((id) => !ok.has(id))) {
          await c.query('ROLLBACK');
          return 'consent-changed';
        }
      }
      const r = await c.query(
        'INSERT INTO scan_results (job_id, path, result, error_code, stored_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING',
        [jobId, path, result, errorCode, new Date().toISOString()],
      );
      await c.query('COMMIT');
      return r.rowCount === 1 ? 'stored' : 'duplicate';
    } catch (e) {
      try {
        await c.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw resultsError(e, `storing the result of job ${jobId}`);
    } finally {
      c.release(broken);
    }
  }

  /** Stored results in insertion order: all, one job's, those stored at or after `since`, or after `afterSeq`. */
  async list(filter: { jobId?: string; since?: string; afterSeq?: number; limit?: number } = {}): Promise<StoredResult[]> {
    const clauses: string[] = [];
    const args: unknown[] = [];
    if (filter.jobId !== undefined) {
      args.push(filter.jobId);
      clauses.push(`job_id = $${args.length}`);
    }
    if (filter.since !== undefined) {
      args.push(filter.since);
      clauses.push(`stored_at >= $${args.length}`);
    }
    if (filter.afterSeq !== undefined) {
      args.push(filter.afterSeq);
      clauses.push(`seq > $${args.length}`);
    }
    let limit = '';
    if (filter.limit !== undefined) {
      args.push(Math.max(0, Math.floor(filter.limit)));
      limit = `LIMIT $${args.length}`;
    }
    try {
      const rows = (
        await this.conn.query<{ seq: string; job_id: string; path: string; result: string; error_code: string | null; stored_at: string }>(
          `SELECT * FROM scan_results ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY seq ${limit}`,
          args,
        )
      ).rows;
      return rows.map((r) => ({ seq: Number(r.seq), jobId: r.job_id, path: r.path, result: r.result, errorCode: r.error_code, storedAt: r.stored_at }));
    } catch (e) {
      throw resultsError(e, 'reading job results');
    }
  }

  /** Number of stored results among `jobIds`. */
  async countOf(jobIds: readonly string[]): Promise<number> {
    try {
      const r = await this.conn.query<{ n: number }>('SELECT count(*)::int AS n FROM scan_results WHERE job_id = ANY($1)', [[...jobIds]]);
      return r.rows[0]!.n;
    } catch (e) {
      throw resultsError(e, 'counting job results');
    }
  }

  /** Releases the connections. */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.end().catch(() => undefined);
  }

  /** Where it lives, without credentials. */
  get where(): string {
    return this.location;
  }
}

/** Mirrors match/decide's consent rule at commit time: withdrawn or expired consent is not reportable. */
function reportable(consentJson: string | null, now: number): boolean {
  if (consentJson === null) return true; // enrolled without a consent record: reported as such, as in searches
  const c = JSON.parse(consentJson) as Consent;
  if (c.withdrawnAt !== undefined && Date.parse(c.withdrawnAt) <= now) return false;
  if (c.expiresAt !== undefined && Date.parse(c.expiresAt) <= now) return false;
  return true;
}

function resultsError(e: unknown, context: string): LikenessError {
  if (isLikenessError(e)) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  return new LikenessError('E_STORE', `${context}: ${e instanceof Error ? e.message : String(e)}`, code ? { pgCode: code } : undefined, { cause: e });
}
