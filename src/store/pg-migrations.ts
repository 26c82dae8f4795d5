import type { PoolClient } from 'pg';
import { LikenessError } from '../errors';

/** One PostgreSQL schema step; `version` is what `meta.schema_version` reads after it ran. */
export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

/**
 * The PostgreSQL schema history, oldest first, append only. It mirrors the SQLite schema (migrations.ts) step for
 * step, so both backends report the same schema version for the same semantics. `seq` columns stand in for SQLite's
 * rowid (a stable insertion order).
 */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'performers, references, templates, meta',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta (key, value) VALUES ('change_counter', '0'), ('schema_version', '0');
      CREATE TABLE performers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        aliases TEXT NOT NULL DEFAULT '[]',
        consent TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE refs (
        performer_id TEXT NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        modality TEXT NOT NULL CHECK (modality IN ('face', 'voice')),
        quality TEXT NOT NULL,
        created_at TEXT NOT NULL,
        seq BIGSERIAL,
        PRIMARY KEY (performer_id, sha256)
      );
      CREATE TABLE templates (
        seq BIGSERIAL UNIQUE,
        id TEXT PRIMARY KEY,
        performer_id TEXT NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        modality TEXT NOT NULL CHECK (modality IN ('face', 'voice')),
        kind TEXT NOT NULL CHECK (kind IN ('item', 'centroid')),
        reference_hash TEXT,
        quality DOUBLE PRECISION NOT NULL,
        dim INTEGER NOT NULL CHECK (dim > 0),
        key_id TEXT,
        nonce BYTEA,
        vector BYTEA NOT NULL,
        created_at TEXT NOT NULL,
        FOREIGN KEY (performer_id, reference_hash) REFERENCES refs(performer_id, sha256) ON DELETE CASCADE,
        CHECK ((kind = 'item') = (reference_hash IS NOT NULL))
      );
      CREATE INDEX templates_model ON templates(model_id, seq);
      CREATE INDEX templates_performer ON templates(performer_id, model_id, reference_hash);
      CREATE UNIQUE INDEX templates_one_centroid ON templates(performer_id, model_id) WHERE kind = 'centroid';
    `,
  },
  {
    version: 2,
    description: 'append-only audit log',
    sql: `
      CREATE TABLE audit (
        seq BIGSERIAL PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        performer_id TEXT,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_performer ON audit(performer_id);
      CREATE FUNCTION likeness_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
      CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION likeness_audit_append_only();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION likeness_audit_append_only();
    `,
  },
  {
    version: 3,
    description: 'key ids per template for rotation',
    sql: `CREATE INDEX templates_key ON templates(key_id);`,
  },
  {
    version: 4,
    description: 'per-reference artefacts (thumbnails, fingerprints), encrypted like templates',
    sql: `
      CREATE TABLE artifacts (
        seq BIGSERIAL UNIQUE,
        performer_id TEXT NOT NULL,
        reference_hash TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('thumbnail', 'fingerprint')),
        bytes INTEGER NOT NULL CHECK (bytes > 0),
        key_id TEXT,
        nonce BYTEA,
        data BYTEA NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (performer_id, reference_hash, kind),
        FOREIGN KEY (performer_id, reference_hash) REFERENCES refs(performer_id, sha256) ON DELETE CASCADE
      );
      CREATE INDEX artifacts_kind ON artifacts(kind, seq);
      CREATE INDEX artifacts_key ON artifacts(key_id);
    `,
  },
];

/** The PostgreSQL schema version this code writes. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

/** Advisory lock key every likeness process takes while migrating (so many workers may start at once). */
const MIGRATION_LOCK = 0x6c696b65; // 'like'

/** The schema version stored in the connected database (0 when it has no likeness tables). */
export async function pgSchemaVersion(client: PoolClient): Promise<number> {
  const t = await client.query<{ t: string | null }>("SELECT to_regclass('meta')::text AS t");
  if (!t.rows[0]?.t) return 0;
  const r = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
  return r.rows[0] ? Number(r.rows[0].value) : 0;
}

/**
 * Brings the database up to `target` (default: latest) in one transaction under a transaction-level advisory lock:
 * processes starting together queue on the lock, and the ones after the first find the work done.
 * @throws LikenessError E_STORE when the database is newer than this code.
 */
export async function pgMigrate(client: PoolClient, target: number = PG_SCHEMA_VERSION): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    let current = await pgSchemaVersion(client);
    if (current > PG_SCHEMA_VERSION) {
      throw new LikenessError(
        'E_STORE',
        `the database has schema version ${current}, newer than this likeness-guard (${PG_SCHEMA_VERSION}): upgrade it`,
        { schemaVersion: current },
      );
    }
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current || m.version > target) continue;
      await client.query(m.sql);
      await client.query("UPDATE meta SET value = $1 WHERE key = 'schema_version'", [String(m.version)]);
      current = m.version;
    }
    await client.query('COMMIT');
    return current;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
