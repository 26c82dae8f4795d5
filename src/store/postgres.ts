import * as crypto from 'crypto';
import { Pool, type PoolClient } from 'pg';
import { LikenessError, isLikenessError } from '../errors';
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
import { pgMigrate, pgSchemaVersion } from './pg-migrations';
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
  Modality,
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

/** Options for {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** A `postgres://` or `postgresql://` connection string (user, password, host, port, database, `?sslmode=`...). */
  url: string;
  /** Template key, as for SQLite: a provider, raw 32 bytes, hex/base64 text; `undefined` reads `LIKENESS_KEY`. */
  key?: KeyProvider | Uint8Array | string | null;
  /** Keys that may still decrypt but never encrypt; default `LIKENESS_OLD_KEYS`. */
  oldKeys?: ReadonlyArray<Uint8Array | string>;
  /** Connections in the pool (default 4). */
  poolSize?: number;
}

/** Channel on which every committed change announces the new change counter (`NOTIFY likeness_changes, 'N'`). */
export const CHANGE_CHANNEL = 'likeness_changes';

/** Artefact rows with their reference's modality (`seq` gives insertion order). */
const ARTIFACT_SELECT = 'SELECT a.*, refs.modality FROM artifacts a JOIN refs ON refs.performer_id = a.performer_id AND refs.sha256 = a.reference_hash';

/** True for `postgres://` and `postgresql://` URLs. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The connection target without credentials (for `doctor` and messages). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Driver and connection errors as E_STORE with an actionable message; LikenessErrors pass through. */
function storeError(e: unknown, context: string, location: string): LikenessError {
  if (isLikenessError(e)) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  const msg = e instanceof Error ? e.message : String(e);
  let hint = '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code.startsWith('08') || code.startsWith('57P')) {
    hint = `: cannot reach PostgreSQL at ${location}; check that it runs and the URL (--db / LIKENESS_DB) is right`;
  } else if (code === '28P01' || code === '28000') {
    hint = ': authentication failed; check the user and password in the URL';
  } else if (code === '3D000') {
    hint = ': the database does not exist; create it (createdb) first';
  }
  return new LikenessError('E_STORE', `${context}: ${msg}${hint}`, code ? { pgCode: code } : undefined, { cause: e });
}

/**
 * Opens the PostgreSQL store: runs the migrations under an advisory lock (several workers may start at once), then
 * serves the same interface and guarantees as the SQLite store: one transaction per enrollment and delete, hard
 * delete, append-only audit log, templates sealed with AES-256-GCM under the same keys and key ids.
 * @throws LikenessError E_STORE when the server cannot be reached or its schema is newer; E_CRYPTO for a malformed key.
 */
export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  const url = str('store URL', opts.url);
  if (!isPostgresUrl(url)) throw invalid(`a PostgreSQL store needs a postgres:// URL, got ${redactUrl(url)}`);
  const provider = withOldKeys(resolveProvider(opts.key), opts.oldKeys ?? envOldKeys());
  const current = provider ? ((await provider()) ?? null) : null;
  const location = redactUrl(url);
  const pool = new Pool({ connectionString: url, max: Math.max(1, Math.floor(opts.poolSize ?? 4)), connectionTimeoutMillis: 10_000 });
  // An idle client whose server went away emits 'error' on the pool; the next query reconnects, so it is not fatal.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await pgMigrate(client);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw storeError(e, `cannot open the PostgreSQL store at ${location}`, location);
  }
  const store = new PostgresStore(pool, location, provider, current);
  await store.retryScrub();
  return store;
}


/** Inserts a performer and audits its creation (inside the caller's transaction). */
async function insertPerformer(c: PoolClient, id: string, name: string, aliases: string[], consent: Consent | null, now: string): Promise<void> {
  await c.query('INSERT INTO performers (id, name, aliases, consent, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
    id,
    name,
    JSON.stringify(aliases),
    consent && JSON.stringify(consent),
    now,
    now,
  ]);
  await appendAudit(c, { type: 'performer.create', performerId: id, details: { consent: consent !== null } });
}

/** The PostgreSQL store. Create it with {@link openPostgresStore}. */
export class PostgresStore implements Store {
  private pool: Pool | null;
  private keys: KeyProvider | null;
  private current: KeyMaterial | null;
  private readonly keyCache = new Map<string, KeyMaterial>();

  /** @internal use {@link openPostgresStore}. */
  constructor(pool: Pool, private readonly location: string, keys: KeyProvider | null, current: KeyMaterial | null) {
    this.pool = pool;
    this.keys = keys;
    this.current = current;
    if (current) this.keyCache.set(current.id, current);
  }

  /** @internal a hard delete whose scrub readers blocked: try again (best effort; doctor reports it while pending). */
  async retryScrub(): Promise<void> {
    await this.scrub();
  }

  private get conn(): Pool {
    if (!this.pool) throw new LikenessError('E_STORE', 'the store is closed');
    return this.pool;
  }

  private async q<R extends object>(what: string, text: string, args: unknown[] = []): Promise<R[]> {
    const pool = this.conn;
    try {
      return (await pool.query<R>(text, args)).rows;
    } catch (e) {
      throw storeError(e, what, this.location);
    }
  }

  /**
   * Runs `fn` in one transaction. Writers first lock the change-counter row, so writes are serialised as in SQLite
   * (BEGIN IMMEDIATE) and every committed write bumps the counter exactly once.
   */
  private async tx<T>(what: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const pool = this.conn;
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw storeError(e, what, this.location);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query("SELECT value FROM meta WHERE key = 'change_counter' FOR UPDATE");
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw storeError(e, what, this.location);
    } finally {
      client.release(broken);
    }
  }

  /** {@inheritDoc Store.info} */
  async info(): Promise<StoreInfo> {
    const rows = await this.q<{ keyid: string | null; count: number }>(
      'reading store info',
      'SELECT key_id AS keyid, count(*)::int AS count FROM templates GROUP BY key_id ORDER BY key_id NULLS FIRST',
    );
    const artifactRows = await this.q<{ keyid: string | null; count: number }>(
      'reading store info',
      'SELECT key_id AS keyid, count(*)::int AS count FROM artifacts GROUP BY key_id ORDER BY key_id NULLS FIRST',
    );
    const pool = this.conn;
    let schemaVersion: number;
    const client = await pool.connect().catch((e: unknown) => {
      throw storeError(e, 'reading store info', this.location);
    });
    try {
      schemaVersion = await pgSchemaVersion(client);
    } finally {
      client.release();
    }
    return {
      backend: 'postgres',
      location: this.location,
      schemaVersion,
      encrypted: this.current !== null,
      keyId: this.current?.id ?? null,
      templateKeys: rows.map((r) => ({ keyId: r.keyid, count: r.count })),
      artifactKeys: artifactRows.map((r) => ({ keyId: r.keyid, count: r.count })),
      scrubPending: (await this.q('reading store info', "SELECT 1 FROM meta WHERE key = 'scrub_pending'")).length > 0,
    };
  }

  /** {@inheritDoc Store.close} */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.end().catch((e: unknown) => Promise.reject(storeError(e, 'closing the store', this.location)));
  }

  /** {@inheritDoc Store.upsertPerformer} */
  async upsertPerformer(p: PerformerInput): Promise<Performer> {
    const { aliases, consent } = checkPerformerInput(p);
    return this.tx('saving a performer', async (c) => {
      const now = nowIso();
      const before = p.id === undefined ? null : await readPerformer(c, p.id);
      if (!before) {
        const id = p.id ?? crypto.randomUUID();
        await insertPerformer(c, id, p.name, aliases, consent, now);
        await bump(c);
        return (await readPerformer(c, id))!;
      }
      await c.query('UPDATE performers SET name = $1, aliases = $2, consent = $3, updated_at = $4 WHERE id = $5', [
        p.name,
        JSON.stringify(aliases),
        consent && JSON.stringify(consent),
        now,
        before.id,
      ]);
      await appendAudit(c, { type: 'performer.update', performerId: before.id });
      if (JSON.stringify(before.consent) !== JSON.stringify(consent)) {
        await appendAudit(c, { type: 'consent.change', performerId: before.id, details: consentAuditDetails(consent) });
      }
      await bump(c);
      return (await readPerformer(c, before.id))!;
    });
  }

  /** {@inheritDoc Store.getPerformer} */
  async getPerformer(id: string): Promise<Performer | null> {
    str('performer id', id);
    const rows = await this.q<PerformerRow>('reading a performer', 'SELECT * FROM performers WHERE id = $1', [id]);
    return rows[0] ? performerFromRow(rows[0]) : null;
  }

  /** {@inheritDoc Store.listPerformers} */
  async listPerformers(): Promise<Performer[]> {
    const rows = await this.q<PerformerRow>('listing performers', 'SELECT * FROM performers ORDER BY name COLLATE "C", id COLLATE "C"');
    return rows.map(performerFromRow);
  }

  /** {@inheritDoc Store.setConsent} */
  async setConsent(id: string, consent: Consent | null, reason?: string): Promise<Performer> {
    str('performer id', id);
    const cons = consent === null ? null : normaliseConsent(consent);
    return this.tx('changing consent', async (c) => {
      const r = await c.query('UPDATE performers SET consent = $1, updated_at = $2 WHERE id = $3', [cons && JSON.stringify(cons), nowIso(), id]);
      if (r.rowCount === 0) throw new LikenessError('E_NOT_FOUND', `no performer with id ${id}`);
      const details = consentAuditDetails(cons);
      if (reason) details.reason = reason;
      await appendAudit(c, { type: 'consent.change', performerId: id, details });
      await bump(c);
      return (await readPerformer(c, id))!;
    });
  }

  /** {@inheritDoc Store.deletePerformer} */
  async deletePerformer(id: string): Promise<boolean> {
    str('performer id', id);
    const deleted = await this.tx('deleting a performer', async (c) => {
      const counts = (
        await c.query<{ refs: number; templates: number; artifacts: number }>(
          `SELECT (SELECT count(*)::int FROM refs WHERE performer_id = $1) AS refs,
                  (SELECT count(*)::int FROM templates WHERE performer_id = $1) AS templates,
                  (SELECT count(*)::int FROM artifacts WHERE performer_id = $1) AS artifacts`,
          [id],
        )
      ).rows[0]!;
      const r = await c.query('DELETE FROM performers WHERE id = $1', [id]);
      if (r.rowCount === 0) return false;
      await appendAudit(c, { type: 'delete', performerId: id, details: { refs: counts.refs, templates: counts.templates, artifacts: counts.artifacts } });
      await bump(c);
      await c.query("INSERT INTO meta (key, value) VALUES ('scrub_pending', '1') ON CONFLICT (key) DO UPDATE SET value = '1'");
      return true;
    });
    // Committed. The deleted rows' bytes stay in the table files (plain VACUUM only marks the space free): rewrite
    // the registry tables now, and leave the flag for `info().scrubPending`, the next delete, checkpoint() and open
    // when readers keep the rewrite from getting its lock.
    if (deleted) await this.scrub();
    return deleted;
  }

  /**
   * Rewrites the registry tables (VACUUM FULL: the old files, with the deleted rows' bytes, are dropped) and clears
   * the scrub flag. Waits at most 2 s for the exclusive lock so searches are never held up longer; false when it could
   * not get it (the flag stays).
   */
  private async scrub(): Promise<boolean> {
    const pool = this.pool;
    if (!pool) return false;
    let c: PoolClient | undefined;
    try {
      c = await pool.connect();
      if ((await c.query("SELECT 1 FROM meta WHERE key = 'scrub_pending'")).rowCount === 0) return true;
      await c.query("SET lock_timeout = '2s'");
      await c.query('VACUUM FULL artifacts, templates, refs, performers');
      await c.query("DELETE FROM meta WHERE key = 'scrub_pending'");
      return true;
    } catch {
      return false;
    } finally {
      if (c) {
        await c.query('RESET lock_timeout').catch(() => undefined);
        c.release();
      }
    }
  }

  /** {@inheritDoc Store.addEnrollment} */
  async addEnrollment(performerId: string, references: NewReference[], templates: NewTemplate[]): Promise<EnrollmentWrite> {
    str('performer id', performerId);
    checkEnrollment(references, templates);
    const key = await this.writeKey();
    return this.tx('writing an enrollment', (c) => this.writeEnrollment(c, performerId, references, templates, key));
  }

  private async writeEnrollment(
    c: PoolClient,
    performerId: string,
    references: NewReference[],
    templates: NewTemplate[],
    key: KeyMaterial | null,
  ): Promise<EnrollmentWrite> {
    if (!(await readPerformer(c, performerId))) throw new LikenessError('E_NOT_FOUND', `no performer with id ${performerId}`);
    const now = nowIso();
    const refExists = async (sha: string): Promise<boolean> =>
      ((await c.query('SELECT 1 FROM refs WHERE performer_id = $1 AND sha256 = $2', [performerId, sha])).rowCount ?? 0) > 0;
    const added: string[] = [];
    const duplicates: string[] = [];
    let artifacts = 0;
    for (const r of references) {
      if (added.includes(r.sha256) || duplicates.includes(r.sha256) || (await refExists(r.sha256))) {
        if (!duplicates.includes(r.sha256)) duplicates.push(r.sha256);
      } else {
        await c.query('INSERT INTO refs (performer_id, sha256, modality, quality, created_at) VALUES ($1, $2, $3, $4, $5)', [
          performerId,
          r.sha256,
          r.modality,
          JSON.stringify(r.quality),
          now,
        ]);
        added.push(r.sha256);
      }
      // Artefacts of a new reference are written with it; one the performer already had gains only the kinds it has
      // none of (re-enrolling older media adds its thumbnail or fingerprint); a stored artefact is never replaced.
      for (const a of r.artifacts ?? []) {
        const s = sealArtifact(key, performerId, r.sha256, a.kind, a.data);
        const w = await c.query(
          `INSERT INTO artifacts (performer_id, reference_hash, kind, bytes, key_id, nonce, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (performer_id, reference_hash, kind) DO NOTHING`,
          [performerId, r.sha256, a.kind, a.data.length, s.keyId, s.nonce, s.data, now],
        );
        artifacts += w.rowCount ?? 0;
      }
    }
    const skip = new Set<string>();
    for (const t of templates) {
      if (t.kind !== 'item' || added.includes(t.referenceHash!)) continue;
      if (!(await refExists(t.referenceHash!))) throw invalid(`template references media ${t.referenceHash} that is not enrolled`);
      const has = await c.query('SELECT 1 FROM templates WHERE performer_id = $1 AND model_id = $2 AND reference_hash = $3 LIMIT 1', [
        performerId,
        t.modelId,
        t.referenceHash,
      ]);
      if ((has.rowCount ?? 0) > 0) skip.add(`${t.modelId}\0${t.referenceHash}`);
    }
    let written = 0;
    for (const t of templates) {
      if (t.kind === 'item' && skip.has(`${t.modelId}\0${t.referenceHash}`)) continue;
      if (t.kind === 'centroid') {
        await c.query("DELETE FROM templates WHERE performer_id = $1 AND model_id = $2 AND kind = 'centroid'", [performerId, t.modelId]);
      }
      await insertTemplate(c, performerId, t, key, now);
      written++;
    }
    await appendAudit(c, { type: 'enroll', performerId, details: enrollAuditDetails(added.length, duplicates.length, written, artifacts, templates) });
    return { added, duplicates, templatesWritten: written, artifactsWritten: artifacts, changeCounter: await bump(c) };
  }

  /**
   * The key new templates are written under, after proving it belongs to this store: every key id the stored
   * templates use must be available and must open one of its templates (a key that only claims an id is caught).
   */
  private async writeKey(): Promise<KeyMaterial | null> {
    const ids = (await this.q<{ key_id: string }>('reading key state', KEY_IDS_SQL)).map((r) => r.key_id);
    if (!this.current) {
      if (ids.length) throw keyMissingError(ids);
      return null;
    }
    for (const id of ids) {
      const m = this.keyCache.get(id) ?? (this.keys ? await this.keys(id) : null);
      // A template under the key when there is one, else an artefact (a store may hold artefacts under a key alone).
      let sample: (() => unknown) | undefined;
      if (m) {
        const t = (await this.q<TemplateRow>('reading a template', 'SELECT * FROM templates WHERE key_id = $1 LIMIT 1', [id]))[0];
        const a = t ? undefined : (await this.q<ArtifactRow>('reading an artifact', `${ARTIFACT_SELECT} WHERE a.key_id = $1 LIMIT 1`, [id]))[0];
        sample = t ? () => this.decode(t) : a ? () => decodeArtifact(a, this.keyCache) : undefined;
      }
      if (!keyOpens(this.keyCache, id, m, sample)) throw wrongKeyError(this.current, id, m !== null && m !== undefined);
    }
    return this.current;
  }

  /** {@inheritDoc Store.verifyWriteKey} */
  async verifyWriteKey(): Promise<void> {
    await this.writeKey();
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
    return this.tx('creating a performer with its enrollment', async (c) => {
      const id = crypto.randomUUID();
      await insertPerformer(c, id, p.name, aliases, consent, nowIso());
      const write = await this.writeEnrollment(c, id, references, templates, key);
      return { performer: (await readPerformer(c, id))!, write };
    });
  }

  /** {@inheritDoc Store.references} */
  async references(performerId: string): Promise<Reference[]> {
    str('performer id', performerId);
    const rows = await this.q<RefRow>('reading references', 'SELECT * FROM refs WHERE performer_id = $1 ORDER BY created_at, sha256', [performerId]);
    return rows.map(refFromRow);
  }

  /** {@inheritDoc Store.templates} */
  async *templates(modelId: string): AsyncIterable<Template> {
    str('model id', modelId);
    await this.loadKeys('SELECT DISTINCT key_id FROM templates WHERE model_id = $1 AND key_id IS NOT NULL', [modelId]);
    const page = 2048;
    let last = '0';
    for (;;) {
      const rows = await this.q<TemplateRow>(
        'reading templates',
        'SELECT * FROM templates WHERE model_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [modelId, last, page],
      );
      if (rows.length === 0) return;
      // A rotation may have moved rows to a key this process has not loaded yet (another worker ran rekey).
      await this.ensureKeys(rows);
      for (const row of rows) yield this.decode(row);
      last = rows[rows.length - 1]!.seq!;
      if (rows.length < page) return;
    }
  }

  /** {@inheritDoc Store.performerTemplates} */
  async performerTemplates(performerId: string, modelId?: string): Promise<Template[]> {
    str('performer id', performerId);
    const where = modelId === undefined ? 'performer_id = $1' : 'performer_id = $1 AND model_id = $2';
    const args = modelId === undefined ? [performerId] : [performerId, modelId];
    const rows = await this.q<TemplateRow>('reading templates', `SELECT * FROM templates WHERE ${where} ORDER BY seq`, args);
    await this.ensureKeys(rows);
    return rows.map((r) => this.decode(r));
  }

  /** {@inheritDoc Store.referenceArtifacts} */
  async referenceArtifacts(performerId: string, kind?: ArtifactKind): Promise<StoredArtifact[]> {
    str('performer id', performerId);
    if (kind !== undefined) checkArtifactKind(kind);
    const where = kind === undefined ? 'a.performer_id = $1' : 'a.performer_id = $1 AND a.kind = $2';
    const args = kind === undefined ? [performerId] : [performerId, kind];
    const rows = await this.q<ArtifactRow>('reading artifacts', `${ARTIFACT_SELECT} WHERE ${where} ORDER BY a.seq`, args);
    await this.ensureKeys(rows);
    return rows.map((r) => decodeArtifact(r, this.keyCache));
  }

  /** {@inheritDoc Store.artifacts} */
  async *artifacts(kind: ArtifactKind): AsyncIterable<StoredArtifact> {
    checkArtifactKind(kind);
    const page = 512;
    let last = '0';
    for (;;) {
      const rows = await this.q<ArtifactRow>('reading artifacts', `${ARTIFACT_SELECT} WHERE a.kind = $1 AND a.seq > $2 ORDER BY a.seq LIMIT $3`, [kind, last, page]);
      if (rows.length === 0) return;
      await this.ensureKeys(rows);
      for (const row of rows) yield decodeArtifact(row, this.keyCache);
      last = rows[rows.length - 1]!.seq!;
      if (rows.length < page) return;
    }
  }

  /** {@inheritDoc Store.models} */
  async models(): Promise<ModelCount[]> {
    const rows = await this.q<{ modelid: string; modality: Modality; dim: number; templates: number; performers: number }>(
      'counting templates',
      `SELECT model_id AS modelid, modality, max(dim)::int AS dim, count(*)::int AS templates,
              count(DISTINCT performer_id)::int AS performers FROM templates GROUP BY model_id, modality ORDER BY model_id COLLATE "C"`,
    );
    return rows.map((r) => ({ modelId: r.modelid, modality: r.modality, dim: r.dim, templates: r.templates, performers: r.performers }));
  }

  /** {@inheritDoc Store.changeCounter} */
  async changeCounter(): Promise<number> {
    const rows = await this.q<{ value: string }>('reading the change counter', "SELECT value FROM meta WHERE key = 'change_counter'");
    return Number(rows[0]!.value);
  }

  /** {@inheritDoc Store.audit} */
  async audit(event: AuditEvent): Promise<AuditEntry> {
    checkAudit(event);
    const pool = this.conn;
    try {
      return await appendAudit(pool, event);
    } catch (e) {
      throw storeError(e, 'appending to the audit log', this.location);
    }
  }

  /** {@inheritDoc Store.auditBatch} */
  async auditBatch(events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    events.forEach(checkAudit);
    if (events.length === 0) return [];
    return this.plainTx('appending to the audit log', async (c) => {
      const out: AuditEntry[] = [];
      for (const e of events) out.push(await appendAudit(c, e));
      return out;
    });
  }

  /** {@inheritDoc Store.auditLog} */
  async auditLog(filter: { performerId?: string; type?: AuditType; afterSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const clauses: string[] = [];
    const args: Array<string | number> = [];
    if (filter.performerId !== undefined) {
      args.push(filter.performerId);
      clauses.push(`performer_id = $${args.length}`);
    }
    if (filter.type !== undefined) {
      args.push(filter.type);
      clauses.push(`type = $${args.length}`);
    }
    if (filter.afterSeq !== undefined) {
      args.push(filter.afterSeq);
      clauses.push(`seq > $${args.length}`);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    let limit = '';
    if (filter.limit !== undefined) {
      args.push(Math.max(0, Math.floor(filter.limit)));
      limit = `LIMIT $${args.length}`;
    }
    const rows = await this.q<AuditRow>('reading the audit log', `SELECT * FROM audit ${where} ORDER BY seq ${limit}`, args);
    return rows.map(auditFromRow);
  }

  /** {@inheritDoc Store.exportPerformer} */
  async exportPerformer(id: string, opts: { includeVectors?: boolean } = {}): Promise<PerformerExport> {
    str('performer id', id);
    const performer = await this.getPerformer(id);
    if (!performer) throw new LikenessError('E_NOT_FOUND', `no performer with id ${id}`);
    await this.audit({ type: 'export', performerId: id, details: { full: opts.includeVectors === true } });
    const references = await this.references(id);
    const rows = await this.q<TemplateRow>('reading templates', 'SELECT * FROM templates WHERE performer_id = $1 ORDER BY seq', [id]);
    if (opts.includeVectors) await this.ensureKeys(rows);
    const templates = rows.map((r) => {
      const info: TemplateInfo & { vector?: string } = templateInfo(r);
      if (opts.includeVectors) info.vector = vectorBytes(this.decode(r).vector).toString('base64');
      return info;
    });
    const artifactRows = await this.q<ArtifactRow>('reading artifacts', `${ARTIFACT_SELECT} WHERE a.performer_id = $1 ORDER BY a.seq`, [id]);
    if (opts.includeVectors) await this.ensureKeys(artifactRows);
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
    const previous = this.keys;
    this.keys = previous ? chainKeyProviders(newKeys, previous) : newKeys;
    this.current = next;
    // One batch per transaction, yielding between batches so readers get their turn; templates first, then artefacts.
    const t = await sweepBatches(() => this.rekeyBatch(next, batchSize));
    const a = await sweepBatches(() => this.rekeyArtifactBatch(next, batchSize));
    const reencrypted = t.rows;
    const artifactsReencrypted = a.rows;
    const batches = t.batches + a.batches;
    await this.audit({ type: 'rekey', details: { templates: reencrypted, artifacts: artifactsReencrypted, keyId: next.id } });
    return { reencrypted, artifactsReencrypted, batches, keyId: next.id };
  }

  /** One batch of artefacts in one transaction; rows locked by another rotation are skipped (it re-encrypts them). */
  private async rekeyArtifactBatch(next: KeyMaterial, batchSize: number): Promise<number> {
    return this.plainTx('re-encrypting artifacts', async (c) => {
      const rows = (
        await c.query<ArtifactRow>(
          `${ARTIFACT_SELECT} WHERE a.key_id IS NULL OR a.key_id <> $1 ORDER BY a.seq LIMIT $2 FOR UPDATE OF a SKIP LOCKED`,
          [next.id, batchSize],
        )
      ).rows;
      await this.ensureKeys(rows);
      for (const r of rows) {
        const plain = decodeArtifact(r, this.keyCache).data;
        const s = seal(next, plain, artifactAad(r.performer_id, r.reference_hash, r.kind));
        plain.fill(0);
        await c.query('UPDATE artifacts SET key_id = $1, nonce = $2, data = $3 WHERE performer_id = $4 AND reference_hash = $5 AND kind = $6', [
          next.id,
          s.nonce,
          s.data,
          r.performer_id,
          r.reference_hash,
          r.kind,
        ]);
      }
      return rows.length;
    });
  }

  /** One batch in one transaction; rows locked by another rotation are skipped (it re-encrypts them). */
  private async rekeyBatch(next: KeyMaterial, batchSize: number): Promise<number> {
    return this.plainTx('re-encrypting templates', async (c) => {
      const rows = (
        await c.query<TemplateRow>('SELECT * FROM templates WHERE key_id IS NULL OR key_id <> $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED', [
          next.id,
          batchSize,
        ])
      ).rows;
      await this.ensureKeys(rows);
      for (const r of rows) {
        const plain = vectorBytes(this.decode(r).vector);
        const s = seal(next, plain, templateAad(r.id, r.performer_id, r.model_id, r.kind, r.dim));
        plain.fill(0);
        await c.query('UPDATE templates SET key_id = $1, nonce = $2, vector = $3 WHERE id = $4', [next.id, s.nonce, s.data, r.id]);
      }
      return rows.length;
    });
  }

  /** Runs `fn` in one transaction without the writers' counter lock (audit appends, rekey batches: they bump nothing). */
  private async plainTx<T>(what: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const pool = this.conn;
    const c = await pool.connect().catch((e: unknown) => {
      throw storeError(e, what, this.location);
    });
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw storeError(e, what, this.location);
    } finally {
      c.release();
    }
  }

  /** {@inheritDoc Store.checkpoint} */
  async checkpoint(): Promise<void> {
    // PostgreSQL manages its own WAL; what is left to do here is a pending scrub of deleted rows from the table files.
    if (!this.pool) throw new LikenessError('E_STORE', 'the store is closed');
    if (!(await this.scrub())) {
      throw new LikenessError('E_STORE', 'the scrub of deleted rows could not get its lock: searches are running; retry later');
    }
  }

  private async loadKeys(sql: string, args: unknown[] = []): Promise<void> {
    const rows = await this.q<{ key_id: string }>('reading key ids', sql, args);
    await this.resolveKeys(rows.map((r) => r.key_id));
  }

  private async ensureKeys(rows: ReadonlyArray<{ key_id: string | null }>): Promise<void> {
    await this.resolveKeys([...new Set(rows.map((r) => r.key_id).filter((k): k is string => k !== null))]);
  }

  private async resolveKeys(ids: readonly string[]): Promise<void> {
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

interface Queryable {
  query<R extends object>(text: string, args?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

async function readPerformer(c: Queryable, id: string): Promise<Performer | null> {
  const r = await c.query<PerformerRow>('SELECT * FROM performers WHERE id = $1', [id]);
  return r.rows[0] ? performerFromRow(r.rows[0]) : null;
}

/** Increments the change counter inside the caller's transaction, announces it on commit, returns the new value. */
async function bump(c: Queryable): Promise<number> {
  const r = await c.query<{ value: string }>(
    "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'change_counter' RETURNING value",
  );
  const v = r.rows[0]!.value;
  await c.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, v]);
  return Number(v);
}

async function appendAudit(c: Queryable, event: AuditEvent): Promise<AuditEntry> {
  const at = nowIso();
  const details = event.details ?? {};
  const r = await c.query<{ seq: string }>('INSERT INTO audit (at, type, performer_id, details) VALUES ($1, $2, $3, $4) RETURNING seq', [
    at,
    event.type,
    event.performerId ?? null,
    JSON.stringify(details),
  ]);
  return { seq: Number(r.rows[0]!.seq), at, type: event.type, performerId: event.performerId ?? null, details };
}

async function insertTemplate(c: Queryable, performerId: string, t: NewTemplate, key: KeyMaterial | null, now: string): Promise<void> {
  const id = crypto.randomUUID();
  const { keyId, nonce, data, dim } = sealTemplate(key, id, performerId, t);
  await c.query(
    `INSERT INTO templates (id, performer_id, model_id, modality, kind, reference_hash, quality, dim, key_id, nonce, vector, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [id, performerId, t.modelId, t.modality, t.kind, t.referenceHash, t.quality, dim, keyId, nonce, data, now],
  );
}
