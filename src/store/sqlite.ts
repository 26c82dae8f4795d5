import Database from 'better-sqlite3';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { LikenessError, isLikenessError } from '../errors';
import { dataHome } from '../paths';
import { invalid, str } from '../validate';
import { chainKeyProviders, envOldKeys, seal } from './crypto';
import {
  KEY_IDS_SQL,
  sweepBatches,
  artifactAad,
  artifactInfo,
  auditFromRow,
  checkArtifactKind,
  checkAudit,
  checkEnrollment,
  checkPerformerInput,
  consentAuditDetails,
  decodeArtifact,
  decodeTemplate,
  enrollAuditDetails,
  keyMissingError,
  nowIso,
  performerFromRow,
  refFromRow,
  resolveProvider,
  sealArtifact,
  sealTemplate,
  templateAad,
  templateInfo,
  unknownKeyError,
  vectorBytes,
  withOldKeys,
  keyOpens, wrongKeyError,
  type ArtifactRow,
  type AuditRow,
  type PerformerRow,
  type RefRow,
  type TemplateRow,
} from './common';
import { normaliseConsent } from './consent';
import { migrate, SCHEMA_VERSION } from './migrations';
import type {
  ArtifactInfo,
  ArtifactKind,
  AuditEntry,
  AuditEvent,
  AuditType,
  Consent,
  EnrollmentWrite,
  KeyMaterial,
  KeyProvider,
  ModelCount,
  NewReference,
  NewTemplate,
  Performer,
  PerformerExport,
  PerformerInput,
  Reference,
  RekeyReport,
  Store,
  StoreInfo,
  StoredArtifact,
  Template,
  TemplateInfo,
} from './types';

/** Default database file: `registry.db` in the user's data directory ($LIKENESS_HOME, else XDG data home). */
export function defaultStorePath(): string {
  return path.join(dataHome(), 'registry.db');
}

/** Options for {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; its folder is created when missing. `:memory:` works for tests (no WAL). */
  path: string;
  /**
   * Template key: a provider, raw 32 bytes, or hex/base64 text. `undefined` reads `LIKENESS_KEY`; `null` means no
   * key even when the variable is set.
   */
  key?: KeyProvider | Uint8Array | string | null;
  /**
   * Keys that may still decrypt templates written under them but never encrypt (a rotation in progress, workers
   * that have not restarted yet). Default: `LIKENESS_OLD_KEYS`, comma-separated.
   */
  oldKeys?: ReadonlyArray<Uint8Array | string>;
  /** Run `PRAGMA quick_check` on open (reads the whole file; off by default). */
  verify?: boolean;
  /** Milliseconds to wait for another process's write lock before E_STORE (default 5000). */
  busyTimeoutMs?: number;
  /**
   * `FULL` (default) syncs the WAL on every commit, so a returned enrollment or delete survives power loss too;
   * `NORMAL` survives process crashes only (a commit may roll back on power loss) and is faster for bulk writes.
   */
  synchronous?: 'FULL' | 'NORMAL';
}

/** Artefact rows with their reference's modality, in insertion order. */
const ARTIFACT_SELECT = 'SELECT a.rowid AS r, a.*, refs.modality FROM artifacts a JOIN refs ON refs.performer_id = a.performer_id AND refs.sha256 = a.reference_hash';

/**
 * Opens (creating and migrating when needed) the embedded SQLite store: one file, WAL journal, `secure_delete` on,
 * foreign keys with cascades, templates sealed with AES-256-GCM when a key is configured.
 * @throws LikenessError E_STORE when the file is not a database, is corrupt, or is newer than this code;
 * E_CRYPTO when the key text is malformed.
 */
export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  str('store path', opts.path);
  const provider = withOldKeys(resolveProvider(opts.key), opts.oldKeys ?? envOldKeys());
  const current = provider ? ((await provider()) ?? null) : null;
  const db = openDatabase(opts);
  const store = new SqliteStore(db, opts.path, provider, current);
  return store;
}



function openDatabase(opts: SqliteStoreOptions): Database.Database {
  const file = opts.path;
  let db: Database.Database | undefined;
  try {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 });
    // Reading the header first makes "not a database" fail here, with our message, not on the first query.
    db.pragma('schema_version', { simple: true });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('secure_delete = ON');
    if (opts.verify) {
      const r = db.pragma('quick_check', { simple: true });
      if (r !== 'ok') throw new LikenessError('E_STORE', `database ${file} failed its integrity check: ${String(r)}`);
    }
    migrate(db);
    // A hard delete whose scrub readers blocked: try again now (best effort; doctor reports it while pending).
    if (db.prepare("SELECT 1 FROM meta WHERE key = 'scrub_pending'").pluck().get() !== undefined) checkpointAndClearScrub(db);
    return db;
  } catch (e) {
    try {
      db?.close();
    } catch {
      // already failing; the original error matters
    }
    throw storeError(e, `cannot open database ${file}`);
  }
}

/**
 * One TRUNCATE checkpoint of the WAL into the main file; when it completes, the scrub flag a hard delete left is
 * cleared (and that change checkpointed too). False when another connection's read kept it from completing.
 */
function checkpointAndClearScrub(db: Database.Database): boolean {
  // A TRUNCATE checkpoint waits for readers through the busy handler; the callers retry on their own schedule, so
  // each attempt waits at most 20 ms instead of the connection's full busy timeout.
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 20');
  try {
    const busy = (): boolean => {
      const r = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      return Boolean(r[0] && r[0].busy);
    };
    if (busy()) return false;
    if (db.prepare("DELETE FROM meta WHERE key = 'scrub_pending'").run().changes > 0) busy();
    return true;
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

/** Maps driver errors to E_STORE with an actionable message; LikenessErrors pass through. */
function storeError(e: unknown, context: string): LikenessError {
  if (isLikenessError(e)) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  const msg = e instanceof Error ? e.message : String(e);
  let hint = '';
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    hint = ': the file is not a likeness database or is corrupt; restore it from a backup or use another --db';
  } else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    hint = ': another process holds the database; retry when it is done';
  } else if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_PERM')) {
    hint = ': check that the path exists and is writable';
  } else if (code === 'SQLITE_FULL') {
    hint = ': the disk is full';
  }
  return new LikenessError('E_STORE', `${context}: ${msg}${hint}`, code ? { sqliteCode: code } : undefined, { cause: e });
}





/** The embedded SQLite store. Create it with {@link openSqliteStore}. */
export class SqliteStore implements Store {
  private db: Database.Database | null;
  private readonly location: string;
  private keys: KeyProvider | null;
  private current: KeyMaterial | null;
  private readonly keyCache = new Map<string, KeyMaterial>();

  /** @internal use {@link openSqliteStore}. */
  constructor(db: Database.Database, location: string, keys: KeyProvider | null, current: KeyMaterial | null) {
    this.db = db;
    this.location = location;
    this.keys = keys;
    this.current = current;
    if (current) this.keyCache.set(current.id, current);
  }

  /** The open connection, or E_STORE after close. */
  private get conn(): Database.Database {
    if (!this.db) throw new LikenessError('E_STORE', 'the store is closed');
    return this.db;
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** The prepared statement for `text`, cached: preparing costs more than running most of these statements. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.conn.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** Runs `fn`, turning driver failures into E_STORE. */
  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, what);
    }
  }

  /** {@inheritDoc Store.info} */
  async info(): Promise<StoreInfo> {
    return this.guard('reading store info', () => {
      const rows = this
        .sql('SELECT key_id AS keyId, count(*) AS count FROM templates GROUP BY key_id ORDER BY key_id')
        .all() as Array<{ keyId: string | null; count: number }>;
      const artifactKeys = this
        .sql('SELECT key_id AS keyId, count(*) AS count FROM artifacts GROUP BY key_id ORDER BY key_id')
        .all() as Array<{ keyId: string | null; count: number }>;
      return {
        backend: 'sqlite' as const,
        location: this.location,
        schemaVersion: this.conn.pragma('user_version', { simple: true }) as number,
        encrypted: this.current !== null,
        keyId: this.current?.id ?? null,
        templateKeys: rows,
        artifactKeys,
        scrubPending: this.sql("SELECT 1 FROM meta WHERE key = 'scrub_pending'").pluck().get() !== undefined,
      };
    });
  }

  /** {@inheritDoc Store.close} */
  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.statements.clear();
    if (db) this.guard('closing the store', () => db.close());
  }

  /** {@inheritDoc Store.upsertPerformer} */
  async upsertPerformer(p: PerformerInput): Promise<Performer> {
    const { aliases, consent } = checkPerformerInput(p);
    return this.guard('saving a performer', () =>
      this.conn
        .transaction(() => {
          const now = nowIso();
          if (p.id === undefined || !this.readPerformer(p.id)) return this.insertPerformer(p.id ?? crypto.randomUUID(), p.name, aliases, consent, now);
          const before = this.readPerformer(p.id)!;
          this
            .sql('UPDATE performers SET name = ?, aliases = ?, consent = ?, updated_at = ? WHERE id = ?')
            .run(p.name, JSON.stringify(aliases), consent && JSON.stringify(consent), now, p.id);
          this.appendAudit({ type: 'performer.update', performerId: p.id });
          if (JSON.stringify(before.consent) !== JSON.stringify(consent)) {
            this.appendAudit({ type: 'consent.change', performerId: p.id, details: consentAuditDetails(consent) });
          }
          this.bump();
          return this.readPerformer(p.id)!;
        })
        .immediate(),
    );
  }

  /** Inserts a performer and audits it (inside the caller's transaction). */
  private insertPerformer(id: string, name: string, aliases: string[], consent: Consent | null, now: string): Performer {
    this
      .sql('INSERT INTO performers (id, name, aliases, consent, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, name, JSON.stringify(aliases), consent && JSON.stringify(consent), now, now);
    this.appendAudit({ type: 'performer.create', performerId: id, details: { consent: consent !== null } });
    this.bump();
    return this.readPerformer(id)!;
  }

  /** {@inheritDoc Store.createWithEnrollment} */
  async createWithEnrollment(
    p: Omit<PerformerInput, 'id'>,
    references: NewReference[],
    templates: NewTemplate[],
  ): Promise<{ performer: Performer; write: EnrollmentWrite }> {
    const { aliases, consent } = checkPerformerInput({ ...p, id: undefined });
    checkEnrollment(references, templates);
    if (references.length === 0) throw invalid('a new performer needs at least one reference');
    const key = await this.writeKey();
    return this.guard('creating a performer with its enrollment', () =>
      this.conn
        .transaction(() => {
          this.checkKeysStill();
          const performer = this.insertPerformer(crypto.randomUUID(), p.name, aliases, consent, nowIso());
          return { performer, write: this.writeEnrollment(performer.id, references, templates, key) };
        })
        .immediate(),
    );
  }

  /** {@inheritDoc Store.getPerformer} */
  async getPerformer(id: string): Promise<Performer | null> {
    str('performer id', id);
    return this.guard('reading a performer', () => this.readPerformer(id));
  }

  /** {@inheritDoc Store.listPerformers} */
  async listPerformers(): Promise<Performer[]> {
    return this.guard('listing performers', () =>
      (this.sql('SELECT * FROM performers ORDER BY name, id').all() as PerformerRow[]).map(performerFromRow),
    );
  }

  /** {@inheritDoc Store.setConsent} */
  async setConsent(id: string, consent: Consent | null, reason?: string): Promise<Performer> {
    str('performer id', id);
    const c = consent === null ? null : normaliseConsent(consent);
    return this.guard('changing consent', () =>
      this.conn
        .transaction(() => {
          const r = this
            .sql('UPDATE performers SET consent = ?, updated_at = ? WHERE id = ?')
            .run(c && JSON.stringify(c), nowIso(), id);
          if (r.changes === 0) throw new LikenessError('E_NOT_FOUND', `no performer with id ${id}`);
          const details = consentAuditDetails(c);
          if (reason) details.reason = reason;
          this.appendAudit({ type: 'consent.change', performerId: id, details });
          this.bump();
          return this.readPerformer(id)!;
        })
        .immediate(),
    );
  }

  /** {@inheritDoc Store.deletePerformer} */
  async deletePerformer(id: string): Promise<boolean> {
    str('performer id', id);
    const deleted = this.guard('deleting a performer', () =>
      this.conn
        .transaction(() => {
          const counts = this
            .sql(
              `SELECT (SELECT count(*) FROM refs WHERE performer_id = ?) AS refs,
                      (SELECT count(*) FROM templates WHERE performer_id = ?) AS templates,
                      (SELECT count(*) FROM artifacts WHERE performer_id = ?) AS artifacts`,
            )
            .get(id, id, id) as { refs: number; templates: number; artifacts: number };
          const r = this.sql('DELETE FROM performers WHERE id = ?').run(id);
          if (r.changes === 0) return false;
          this.appendAudit({ type: 'delete', performerId: id, details: counts });
          this.bump();
          this.sql("INSERT INTO meta (key, value) VALUES ('scrub_pending', '1') ON CONFLICT(key) DO UPDATE SET value = '1'").run();
          return true;
        })
        .immediate(),
    );
    // The delete has committed: from here on it reports success. secure_delete zeroes the freed pages, but copies of
    // them live in the WAL until a checkpoint; scrub now, retrying while readers hold the WAL, and leave the flag for
    // doctor (info().scrubPending) and for the next open if readers never let go.
    if (deleted) await this.scrubWal();
    return deleted;
  }

  /**
   * Checkpoints the WAL into the main file and truncates it, retrying (about 1.5 s in all) while another connection
   * is reading; clears the scrub flag on success. Returns false when readers kept it from completing.
   */
  private async scrubWal(): Promise<boolean> {
    for (const wait of [0, 25, 50, 100, 200, 400, 800]) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      if (!this.db) return false;
      try {
        if (checkpointAndClearScrub(this.db)) return true;
      } catch {
        return false; // the flag stays set; doctor reports it and the next open retries
      }
    }
    return false;
  }

  /** {@inheritDoc Store.verifyWriteKey} */
  async verifyWriteKey(): Promise<void> {
    await this.writeKey();
  }

  /** {@inheritDoc Store.addEnrollment} */
  async addEnrollment(performerId: string, references: NewReference[], templates: NewTemplate[]): Promise<EnrollmentWrite> {
    str('performer id', performerId);
    checkEnrollment(references, templates);
    const key = await this.writeKey();
    return this.guard('writing an enrollment', () =>
      this.conn
        .transaction(() => {
          this.checkKeysStill();
          return this.writeEnrollment(performerId, references, templates, key);
        })
        .immediate(),
    );
  }

  private writeEnrollment(
    performerId: string,
    references: NewReference[],
    templates: NewTemplate[],
    key: KeyMaterial | null,
  ): EnrollmentWrite {
    if (!this.readPerformer(performerId)) throw new LikenessError('E_NOT_FOUND', `no performer with id ${performerId}`);
    const now = nowIso();
    const refExists = this.sql('SELECT 1 FROM refs WHERE performer_id = ? AND sha256 = ?').pluck();
    const insertRef = this.sql(
      'INSERT INTO refs (performer_id, sha256, modality, quality, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    const insertArtifact = this.sql(
      `INSERT INTO artifacts (performer_id, reference_hash, kind, bytes, key_id, nonce, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (performer_id, reference_hash, kind) DO NOTHING`,
    );
    const added: string[] = [];
    const duplicates: string[] = [];
    let artifacts = 0;
    for (const r of references) {
      if (added.includes(r.sha256) || duplicates.includes(r.sha256) || refExists.get(performerId, r.sha256)) {
        if (!duplicates.includes(r.sha256)) duplicates.push(r.sha256);
      } else {
        insertRef.run(performerId, r.sha256, r.modality, JSON.stringify(r.quality), now);
        added.push(r.sha256);
      }
      // Artefacts of a new reference are written with it; one the performer already had gains only the kinds it has
      // none of (re-enrolling older media adds its thumbnail or fingerprint); a stored artefact is never replaced.
      for (const a of r.artifacts ?? []) {
        const s = sealArtifact(key, performerId, r.sha256, a.kind, a.data);
        artifacts += insertArtifact.run(performerId, r.sha256, a.kind, a.data.length, s.keyId, s.nonce, s.data, now).changes;
      }
    }
    // An item template of a reference the performer already had is kept only for a model that reference has no
    // templates for yet (re-embedding with a new model); same media, same model is a duplicate.
    const hasItems = this
      .sql('SELECT 1 FROM templates WHERE performer_id = ? AND model_id = ? AND reference_hash = ? LIMIT 1')
      .pluck();
    const skip = new Set<string>();
    for (const t of templates) {
      if (t.kind !== 'item' || added.includes(t.referenceHash!)) continue;
      if (!refExists.get(performerId, t.referenceHash)) {
        throw invalid(`template references media ${t.referenceHash} that is not enrolled`);
      }
      if (hasItems.get(performerId, t.modelId, t.referenceHash)) skip.add(`${t.modelId}\0${t.referenceHash}`);
    }
    const dropCentroid = this.sql(
      "DELETE FROM templates WHERE performer_id = ? AND model_id = ? AND kind = 'centroid'",
    );
    let written = 0;
    for (const t of templates) {
      if (t.kind === 'item' && skip.has(`${t.modelId}\0${t.referenceHash}`)) continue;
      if (t.kind === 'centroid') dropCentroid.run(performerId, t.modelId);
      this.insertTemplate(performerId, t, key, now);
      written++;
    }
    this.appendAudit({ type: 'enroll', performerId, details: enrollAuditDetails(added.length, duplicates.length, written, artifacts, templates) });
    return { added, duplicates, templatesWritten: written, artifactsWritten: artifacts, changeCounter: this.bump() };
  }

  private insertTemplate(performerId: string, t: NewTemplate, key: KeyMaterial | null, now: string): void {
    const id = crypto.randomUUID();
    const { keyId, nonce, data, dim } = sealTemplate(key, id, performerId, t);
    this
      .sql(
        `INSERT INTO templates (id, performer_id, model_id, modality, kind, reference_hash, quality, dim, key_id, nonce,
           vector, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, performerId, t.modelId, t.modality, t.kind, t.referenceHash, t.quality, dim, keyId, nonce, data, now);
  }

  /**
   * The key to write with, verified against the store first: every key the store's templates are encrypted under
   * must be available and open one of its templates, so a wrong `LIKENESS_KEY` can never add templates that lock
   * everyone out of searching. Refuses to mix plaintext into a store that already holds encrypted templates.
   * @throws LikenessError E_CRYPTO saying which key the store holds and what to set.
   */
  private async writeKey(): Promise<KeyMaterial | null> {
    const ids = this.guard('reading key state', () => this.sql(KEY_IDS_SQL).pluck().all()) as string[];
    if (!this.current) {
      if (ids.length) throw keyMissingError(ids);
      return null;
    }
    for (const id of ids) {
      const m = this.keyCache.get(id) ?? (this.keys ? await this.keys(id) : null);
      // A template under the key when there is one, else an artefact (a store may hold artefacts under a key alone).
      const sample = m
        ? this.guard('reading a template', () => {
            const t = this.sql('SELECT * FROM templates WHERE key_id = ? LIMIT 1').get(id) as TemplateRow | undefined;
            return t ? () => this.decode(t) : () => decodeArtifact(this.sql(`${ARTIFACT_SELECT} WHERE a.key_id = ? LIMIT 1`).get(id) as ArtifactRow, this.keyCache);
          })
        : undefined;
      if (!keyOpens(this.keyCache, id, m, sample)) throw wrongKeyError(this.current, id, m !== null && m !== undefined);
    }
    return this.current;
  }

  /** Inside a write transaction: no template under a key this connection has not verified appeared meanwhile. */
  private checkKeysStill(): void {
    const ids = this.sql(KEY_IDS_SQL).pluck().all() as string[];
    const unknown = ids.filter((id) => !this.keyCache.has(id));
    if (unknown.length) {
      throw new LikenessError('E_CRYPTO', `the store's templates changed key (${unknown.join(', ')}) while enrolling: nothing was written; retry`, { keyId: unknown[0]! });
    }
  }

  /** {@inheritDoc Store.references} */
  async references(performerId: string): Promise<Reference[]> {
    str('performer id', performerId);
    return this.guard('reading references', () =>
      (
        this.sql('SELECT * FROM refs WHERE performer_id = ? ORDER BY created_at, sha256').all(performerId) as RefRow[]
      ).map(refFromRow),
    );
  }

  /** {@inheritDoc Store.templates} */
  async *templates(modelId: string): AsyncIterable<Template> {
    str('model id', modelId);
    await this.loadKeys('SELECT DISTINCT key_id FROM templates WHERE model_id = ? AND key_id IS NOT NULL', [modelId]);
    // Materialise in pages so a long consumer never holds a read transaction open across awaits.
    const page = 2048;
    let lastRowid = -1;
    for (;;) {
      const rows = this.guard('reading templates', () =>
        this
          .sql('SELECT rowid AS r, * FROM templates WHERE model_id = ? AND rowid > ? ORDER BY rowid LIMIT ?')
          .all(modelId, lastRowid, page),
      ) as Array<TemplateRow & { r: number }>;
      if (rows.length === 0) return;
      for (const row of rows) yield this.decode(row);
      lastRowid = rows[rows.length - 1]!.r;
      if (rows.length < page) return;
    }
  }

  /** {@inheritDoc Store.performerTemplates} */
  async performerTemplates(performerId: string, modelId?: string): Promise<Template[]> {
    str('performer id', performerId);
    const where = modelId === undefined ? 'performer_id = ?' : 'performer_id = ? AND model_id = ?';
    const args = modelId === undefined ? [performerId] : [performerId, modelId];
    await this.loadKeys(`SELECT DISTINCT key_id FROM templates WHERE ${where} AND key_id IS NOT NULL`, args);
    const rows = this.guard('reading templates', () =>
      this.sql(`SELECT * FROM templates WHERE ${where} ORDER BY rowid`).all(...args),
    ) as TemplateRow[];
    return rows.map((r) => this.decode(r));
  }

  /** {@inheritDoc Store.referenceArtifacts} */
  async referenceArtifacts(performerId: string, kind?: ArtifactKind): Promise<StoredArtifact[]> {
    str('performer id', performerId);
    if (kind !== undefined) checkArtifactKind(kind);
    const where = kind === undefined ? 'a.performer_id = ?' : 'a.performer_id = ? AND a.kind = ?';
    const args = kind === undefined ? [performerId] : [performerId, kind];
    await this.loadKeys(`SELECT DISTINCT key_id FROM artifacts a WHERE ${where} AND key_id IS NOT NULL`, args);
    const rows = this.guard('reading artifacts', () => this.sql(`${ARTIFACT_SELECT} WHERE ${where} ORDER BY a.rowid`).all(...args)) as ArtifactRow[];
    return rows.map((r) => decodeArtifact(r, this.keyCache));
  }

  /** {@inheritDoc Store.artifacts} */
  async *artifacts(kind: ArtifactKind): AsyncIterable<StoredArtifact> {
    checkArtifactKind(kind);
    await this.loadKeys('SELECT DISTINCT key_id FROM artifacts WHERE kind = ? AND key_id IS NOT NULL', [kind]);
    // Pages, as for templates: no read transaction stays open across the consumer's awaits.
    const page = 512;
    let lastRowid = -1;
    for (;;) {
      const rows = this.guard('reading artifacts', () =>
        this.sql(`${ARTIFACT_SELECT} WHERE a.kind = ? AND a.rowid > ? ORDER BY a.rowid LIMIT ?`).all(kind, lastRowid, page),
      ) as Array<ArtifactRow & { r: number }>;
      if (rows.length === 0) return;
      await this.loadKeys(`SELECT DISTINCT key_id FROM artifacts WHERE kind = ? AND rowid > ? AND key_id IS NOT NULL`, [kind, lastRowid]);
      for (const row of rows) yield decodeArtifact(row, this.keyCache);
      lastRowid = rows[rows.length - 1]!.r;
      if (rows.length < page) return;
    }
  }

  /** {@inheritDoc Store.models} */
  async models(): Promise<ModelCount[]> {
    return this.guard('counting templates', () =>
      this
        .sql(
          `SELECT model_id AS modelId, modality, max(dim) AS dim, count(*) AS templates,
                  count(DISTINCT performer_id) AS performers FROM templates GROUP BY model_id, modality ORDER BY model_id`,
        )
        .all() as ModelCount[],
    );
  }

  /** {@inheritDoc Store.changeCounter} */
  async changeCounter(): Promise<number> {
    return this.guard('reading the change counter', () => this.readCounter());
  }

  /** {@inheritDoc Store.audit} */
  async audit(event: AuditEvent): Promise<AuditEntry> {
    checkAudit(event);
    return this.guard('appending to the audit log', () => this.appendAudit(event));
  }

  /** {@inheritDoc Store.auditBatch} */
  async auditBatch(events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    events.forEach(checkAudit);
    if (events.length === 0) return [];
    return this.guard('appending to the audit log', () =>
      this.conn.transaction(() => events.map((e) => this.appendAudit(e))).immediate(),
    );
  }

  /** {@inheritDoc Store.auditLog} */
  async auditLog(filter: { performerId?: string; type?: AuditType; afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const clauses: string[] = [];
    const args: Array<string | number> = [];
    if (filter.performerId !== undefined) {
      clauses.push('performer_id = ?');
      args.push(filter.performerId);
    }
    if (filter.type !== undefined) {
      clauses.push('type = ?');
      args.push(filter.type);
    }
    if (filter.afterSeq !== undefined) {
      clauses.push('seq > ?');
      args.push(filter.afterSeq);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const limit = filter.limit !== undefined ? 'LIMIT ?' : '';
    if (filter.limit !== undefined) args.push(Math.max(0, Math.floor(filter.limit)));
    return this.guard('reading the audit log', () =>
      (this.sql(`SELECT * FROM audit ${where} ORDER BY seq ${limit}`).all(...args) as AuditRow[]).map(auditFromRow),
    );
  }

  /** {@inheritDoc Store.exportPerformer} */
  async exportPerformer(id: string, opts: { includeVectors?: boolean } = {}): Promise<PerformerExport> {
    str('performer id', id);
    const performer = await this.getPerformer(id);
    if (!performer) throw new LikenessError('E_NOT_FOUND', `no performer with id ${id}`);
    this.guard('appending to the audit log', () =>
      this.appendAudit({ type: 'export', performerId: id, details: { full: opts.includeVectors === true } }),
    );
    const references = await this.references(id);
    const rows = this.guard('reading templates', () =>
      this.sql('SELECT * FROM templates WHERE performer_id = ? ORDER BY rowid').all(id),
    ) as TemplateRow[];
    if (opts.includeVectors) await this.loadKeys('SELECT DISTINCT key_id FROM templates WHERE performer_id = ? AND key_id IS NOT NULL', [id]);
    const templates = rows.map((r) => {
      const info: TemplateInfo & { vector?: string } = templateInfo(r);
      if (opts.includeVectors) info.vector = vectorBytes(this.decode(r).vector).toString('base64');
      return info;
    });
    const artifactRows = this.guard('reading artifacts', () => this.sql(`${ARTIFACT_SELECT} WHERE a.performer_id = ? ORDER BY a.rowid`).all(id)) as ArtifactRow[];
    if (opts.includeVectors) await this.loadKeys('SELECT DISTINCT key_id FROM artifacts WHERE performer_id = ? AND key_id IS NOT NULL', [id]);
    const artifacts = artifactRows.map((r) => {
      const info: ArtifactInfo & { data?: string } = artifactInfo(r);
      if (opts.includeVectors) info.data = Buffer.from(decodeArtifact(r, this.keyCache).data).toString('base64');
      return info;
    });
    const audit = await this.auditLog({ performerId: id });
    return { exportedAt: nowIso(), performer, references, templates, artifacts, audit };
  }

  /** {@inheritDoc Store.rekey} */
  async rekey(newKeys: KeyProvider, opts: { batchSize?: number } = {}): Promise<RekeyReport> {
    const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 256));
    const next = await newKeys();
    if (!next) throw new LikenessError('E_CRYPTO', 'the new key provider gave no key to encrypt with');
    // The new key first: rows already under it (written by workers that run with it) must not count as unknown.
    this.keyCache.set(next.id, next);
    await this.loadKeys(KEY_IDS_SQL);
    // From here new enrollments use the new key, so the sweep below has a finite amount of work.
    const previous = this.keys;
    this.keys = previous ? chainKeyProviders(newKeys, previous) : newKeys;
    this.current = next;
    // One batch per transaction, yielding between batches so readers get their turn; templates first, then artefacts.
    const t = await sweepBatches(() => this.guard('re-encrypting templates', () => this.conn.transaction(() => this.rekeyBatch(next, batchSize)).immediate()));
    const a = await sweepBatches(() => this.guard('re-encrypting artifacts', () => this.conn.transaction(() => this.rekeyArtifactBatch(next, batchSize)).immediate()));
    const reencrypted = t.rows;
    const artifactsReencrypted = a.rows;
    const batches = t.batches + a.batches;
    await this.audit({ type: 'rekey', details: { templates: reencrypted, artifacts: artifactsReencrypted, keyId: next.id } });
    return { reencrypted, artifactsReencrypted, batches, keyId: next.id };
  }

  private rekeyArtifactBatch(next: KeyMaterial, batchSize: number): number {
    const rows = this.sql(`${ARTIFACT_SELECT} WHERE a.key_id IS NULL OR a.key_id != ? LIMIT ?`).all(next.id, batchSize) as ArtifactRow[];
    const update = this.sql('UPDATE artifacts SET key_id = ?, nonce = ?, data = ? WHERE performer_id = ? AND reference_hash = ? AND kind = ?');
    for (const r of rows) {
      const plain = decodeArtifact(r, this.keyCache).data;
      const s = seal(next, plain, artifactAad(r.performer_id, r.reference_hash, r.kind));
      plain.fill(0);
      update.run(next.id, s.nonce, s.data, r.performer_id, r.reference_hash, r.kind);
    }
    return rows.length;
  }

  private rekeyBatch(next: KeyMaterial, batchSize: number): number {
    const rows = this
      .sql('SELECT * FROM templates WHERE key_id IS NULL OR key_id != ? LIMIT ?')
      .all(next.id, batchSize) as TemplateRow[];
    const update = this.sql('UPDATE templates SET key_id = ?, nonce = ?, vector = ? WHERE id = ?');
    for (const r of rows) {
      const plain = vectorBytes(this.decode(r).vector);
      const s = seal(next, plain, templateAad(r.id, r.performer_id, r.model_id, r.kind, r.dim));
      plain.fill(0);
      update.run(next.id, s.nonce, s.data, r.id);
    }
    return rows.length;
  }

  /** {@inheritDoc Store.checkpoint} */
  async checkpoint(): Promise<void> {
    this.guard('checkpointing', () => {
      if (!checkpointAndClearScrub(this.conn)) {
        throw new LikenessError('E_STORE', 'checkpoint could not complete: another connection is reading; retry later');
      }
    });
  }

  private readPerformer(id: string): Performer | null {
    const row = this.sql('SELECT * FROM performers WHERE id = ?').get(id) as PerformerRow | undefined;
    return row ? performerFromRow(row) : null;
  }

  private readCounter(): number {
    return Number(this.sql("SELECT value FROM meta WHERE key = 'change_counter'").pluck().get());
  }

  /** Increments the change counter (inside the caller's transaction) and returns the new value. */
  private bump(): number {
    this.sql("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_counter'").run();
    return this.readCounter();
  }

  private appendAudit(event: AuditEvent): AuditEntry {
    const at = nowIso();
    const details = event.details ?? {};
    const r = this
      .sql('INSERT INTO audit (at, type, performer_id, details) VALUES (?, ?, ?, ?)')
      .run(at, event.type, event.performerId ?? null, JSON.stringify(details));
    return { seq: Number(r.lastInsertRowid), at, type: event.type, performerId: event.performerId ?? null, details };
  }

  /** Resolves every key id the query returns, before the synchronous reads that need them. */
  private async loadKeys(sql: string, args: unknown[] = []): Promise<void> {
    const ids = this.guard('reading key ids', () => this.sql(sql).pluck().all(...args)) as string[];
    for (const id of ids) {
      if (this.keyCache.has(id)) continue;
      const m = this.keys ? await this.keys(id) : null;
      if (!m) throw unknownKeyError(this.current, id);
      this.keyCache.set(id, m);
    }
  }

  private decode(r: TemplateRow): Template {
    return decodeTemplate(r, this.keyCache);
  }
}

/** Schema version of databases written by this code. */
export const SQLITE_SCHEMA_VERSION = SCHEMA_VERSION;
