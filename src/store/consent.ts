
import { str, invalid } from '../validate';
import type { Consent } from './types';

function isoDate(name: string, v: unknown): string {
  str(name, v);
  const t = Date.parse(v as string);
  if (Number.isNaN(t)) throw invalid(`${name} must be an ISO-8601 date, got ${String(v)}`);
  return new Date(t).toISOString();
}

/** Validates a consent record and normalises its dates to ISO UTC. */
export function normaliseConsent(c: Consent): Consent {
  if (typeof c !== 'object' || c === null) throw invalid('consent must be an object or null');
  const out: Consent = {
    grantedBy: str('consent grantedBy', c.grantedBy),
    grantedAt: isoDate('consent grantedAt', c.grantedAt),
    scope: str('consent scope', c.scope),
  };
  if (c.expiresAt !== undefined) out.expiresAt = isoDate('consent expiresAt', c.expiresAt);
  if (c.documentRef !== undefined) out.documentRef = str('consent documentRef', c.documentRef);
  if (c.withdrawnAt !== undefined) out.withdrawnAt = isoDate('consent withdrawnAt', c.withdrawnAt);
  return out;
}

