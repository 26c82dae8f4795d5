// The two store backends behind one test interface, so the store suites run once per backend from one source:
// `sqlite` (a temp file) and `postgres` (a throwaway cluster from ./postgres, a fresh database per store).
import Database from 'better-sqlite3';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { postgresAvailable, startPostgres, type PgCluster } from './postgres';

/** One backend under test. */
export interface TestBackend {
  name: 'sqlite' | 'postgres';
  /** Whether it can run here (describeIf uses it). */
  available: boolean;
  /** Column giving insertion order in raw queries. */
  order: 'rowid' | 'seq';
  /** Starts what the backend needs (the cluster). */
  setup(): Promise<void>;
  /** Stops it and removes every file. */
  teardown(): Promise<void>;
  /** A location (file path or URL) for a new, empty store. */
  fresh(): Promise<string>;
  /** Runs raw SQL (`?` placeholders) against a location, bypassing the store (tamper tests). */
  raw<R = Record<string, unknown>>(location: string, sql: string, args?: unknown[]): Promise<R[]>;
  /** The running cluster (postgres only). */
  cluster?: PgCluster;
}

/** The SQLite backend: a store file in a temp folder. */
export function sqliteBackend(): TestBackend {
  let dir = '';
  return {
    name: 'sqlite',
    available: true,
    order: 'rowid',
    async setup() {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-sb-'));
    },
    async teardown() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async fresh() {
      return path.join(dir, `${crypto.randomUUID()}.db`);
    },
    async raw<R>(location: string, sql: string, args: unknown[] = []): Promise<R[]> {
      const db = new Database(location);
      try {
        const st = db.prepare(sql);
        return (st.reader ? st.all(...args) : (st.run(...args), [])) as R[];
      } finally {
        db.close();
      }
    },
  };
}

/** The PostgreSQL backend: one cluster per suite, one database per store. */
export function postgresBackend(): TestBackend {
  let n = 0;
  const b: TestBackend = {
    name: 'postgres',
    available: postgresAvailable(),
    order: 'seq',
    async setup() {
      b.cluster = await startPostgres();
    },
    async teardown() {
      b.cluster?.destroy();
    },
    async fresh() {
      return b.cluster!.createDatabase(`t${process.pid}_${++n}`);
    },
    async raw<R>(location: string, sql: string, args: unknown[] = []): Promise<R[]> {
      let i = 0;
      const c = new Client({ connectionString: location });
      await c.connect();
      try {
        return (await c.query(sql.replace(/\?/g, () => `$${++i}`), args)).rows as R[];
      } finally {
        await c.end();
      }
    },
  };
  return b;
}

/** Both backends, SQLite first. */
export function storeBackends(): TestBackend[] {
  return [sqliteBackend(), postgresBackend()];
}
