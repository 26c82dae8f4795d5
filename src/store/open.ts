import { str } from '../validate';
import { isPostgresUrl, openPostgresStore } from './postgres';
import { openSqliteStore } from './sqlite';
import type { SqliteStoreOptions } from './sqlite';
import type { Store, StoreInfo } from './types';

/** Options for {@link openStore}: a file path (SQLite) or a `postgres://` URL (PostgreSQL; SQLite-only options ignored). */
export type OpenStoreOptions = Omit<SqliteStoreOptions, 'path'> & { location: string };

/**
 * Opens the store named by `location`: a file path opens the embedded SQLite store; `postgres://` / `postgresql://`
 * URLs open the PostgreSQL store (same interface and guarantees).
 * @throws LikenessError E_STORE / E_CRYPTO from the backend.
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const location = str('store location', opts.location);
  if (isPostgresUrl(location)) {
    return openPostgresStore({
      url: location,
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      ...(opts.oldKeys !== undefined ? { oldKeys: opts.oldKeys } : {}),
    });
  }
  const { location: _unused, ...rest } = opts;
  void _unused;
  return openSqliteStore({ ...rest, path: location });
}

/** Warnings for `likeness doctor` about how templates are protected at rest. */
export function storeWarnings(info: StoreInfo): string[] {
  const out: string[] = [];
  const plaintext = info.templateKeys.find((k) => k.keyId === null)?.count ?? 0;
  const other = info.templateKeys.filter((k) => k.keyId !== null && k.keyId !== info.keyId);
  if (!info.encrypted) {
    out.push(
      plaintext > 0
        ? `${plaintext} templates are stored unencrypted: set LIKENESS_KEY (\`openssl rand -hex 32\`) and run \`likeness rekey\``
        : 'no template key is set: set LIKENESS_KEY (`openssl rand -hex 32`) before enrolling so templates are encrypted',
    );
  } else if (plaintext > 0) {
    out.push(`${plaintext} templates are still unencrypted: run \`likeness rekey\``);
  }
  for (const k of other) {
    out.push(`${k.count} templates are encrypted under another key (${k.keyId}): finish the rotation with \`likeness rekey\``);
  }
  // Reference artefacts (thumbnails, fingerprints) are biometric too and follow the templates' key.
  const artifactKeys = info.artifactKeys ?? [];
  const plainArtifacts = artifactKeys.find((k) => k.keyId === null)?.count ?? 0;
  if (plainArtifacts > 0) {
    out.push(
      info.encrypted
        ? `${plainArtifacts} reference thumbnails / fingerprints are still unencrypted: run \`likeness rekey\``
        : `${plainArtifacts} reference thumbnails / fingerprints are stored unencrypted: set LIKENESS_KEY and run \`likeness rekey\``,
    );
  }
  for (const k of artifactKeys.filter((x) => x.keyId !== null && x.keyId !== info.keyId)) {
    out.push(`${k.count} reference thumbnails / fingerprints are encrypted under another key (${k.keyId}): finish the rotation with \`likeness rekey\``);
  }
  if (info.scrubPending && info.backend === 'postgres') {
    out.push('a hard delete has committed but the table rewrite that scrubs its bytes could not get its lock (searches were running): any delete, rekey or open retries it');
  } else if (info.scrubPending) {
    out.push('a hard delete has committed but its bytes are still in the write-ahead log (a reader held it): run `likeness doctor` again when scans are idle, or any delete or rekey, to scrub them');
  }
  return out;
}
