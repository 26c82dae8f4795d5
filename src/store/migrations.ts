import type Database from 'better-sqlite3';
import { LikenessError } from '../errors';

/** One schema step. `version` is what `PRAGMA user_version` reads after it ran. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * The schema history, oldest first. Append only: a released step is never edited, a change is a new step, so every
 * database (of any age) reaches the same schema.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'performers, references, templates, meta',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      INSERT INTO meta (key, value) VALUES ('change_counter', '0');
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
        PRIMARY KEY (performer_id, sha256)
      );
      CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        performer_id TEXT NOT NULL REFERENCES performers(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        modality TEXT NOT NULL CHECK (modality IN ('face', 'voice')),
        kind TEXT NOT NULL CHECK (kind IN ('item', 'centroid')),
        reference_hash TEXT,
        quality REAL NOT NULL,
        dim INTEGER NOT NULL CHECK (dim > 0),
        key_id TEXT,
        nonce BLOB,
        vector BLOB NOT NULL,
        created_at TEXT NOT NULL,
        FOREIGN KEY (performer_id, reference_hash) REFERENCES refs(performer_id, sha256) ON DELETE CASCADE,
        CHECK ((kind = 'item') = (reference_hash IS NOT NULL))
      );
      CREATE INDEX templates_model ON templates(model_id);
      CREATE INDEX templates_performer ON templates(performer_id, model_id, reference_hash);
      CREATE UNIQUE INDEX templates_one_centroid ON templates(performer_id, model_id) WHERE kind = 'centroid';
    `,
  },
  {
    version: 2,
    description: 'append-only audit log',
    sql: `
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        performer_id TEXT,
        details TEXT NOT NULL
      );
      CREATE INDEX audit_performer ON audit(performer_id);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
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
        performer_id TEXT NOT NULL,
        reference_hash TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('thumbnail', 'fingerprint')),
        bytes INTEGER NOT NULL CHECK (bytes > 0),
        key_id TEXT,
        nonce BLOB,
        data BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (performer_id, reference_hash, kind),
        FOREIGN KEY (performer_id, reference_hash) REFERENCES refs(performer_id, sha256) ON DELETE CASCADE
      );
      CREATE INDEX artifacts_kind ON artifacts(kind);
      CREATE INDEX artifacts_key ON artifacts(key_id);
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings `db` up to `target` (default: latest), one transaction per step so a crash mid-way leaves a valid older
 * schema that the next open continues from.
 * @throws LikenessError E_STORE when the database is newer than this code.
 */
export function migrate(db: Database.Database, target: number = SCHEMA_VERSION): number {
  let current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new LikenessError(
      'E_STORE',
      `the database has schema version ${current}, newer than this likeness-guard (${SCHEMA_VERSION}): upgrade it`,
      { schemaVersion: current },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    current = m.version;
  }
  return current;
}
