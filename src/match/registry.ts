import { LikenessError } from '../errors';
import { str, int, invalid, options, num } from '../validate';
import type {
  ArtifactKind,
  AuditEntry,
  AuditEvent,
  AuditValue,
  Consent,
  JsonValue,
  KeyProvider,
  Modality,
  NewArtifact,
  NewReference,
  NewTemplate,
  Performer,
  PerformerExport,
  RekeyReport,
  ModelCount,
  Reference,
  Store,
  StoreInfo,
  StoredArtifact,
  Template,
} from '../store/types';
import { normaliseConsent } from '../store/consent';
import type { Calibration, SearchRates, SearchThresholds } from './calibration';
import { Cohort, consentState, decide, galleryComparisons, searchPerformersAsNorm } from './decide';
import type { Candidate, ComparisonCount, SuppressedCandidate } from './decide';
import { GalleryCache, buildGallery, searchPerformers } from './gallery';
import { degeneracy, degenerateTemplateError, normalise, type DegeneracyKind, type JunkSet } from '../kernels/vector';
import type { Gallery, PerformerScore, SearchMode } from './gallery';
import { ReferenceOrigins } from './origins';

/** Input of {@link Registry.createPerformer}: a consent record, or `noConsent: true` to record its absence. */
export interface NewPerformer {
  name: string;
  aliases?: string[];
  consent?: Consent;
  /** Explicitly enroll without consent (recorded as such). */
  noConsent?: boolean;
}

/** A template the face or voice pipeline accepted for enrollment. */
export interface AcceptedTemplate {
  modelId: string;
  vector: Float32Array;
  /** Quality in [0, 1] (face quality score; voices may pass 1). */
  quality: number;
}

/** One accepted media item to enroll: its hash, modality, quality report, templates and artefacts. */
export interface EnrollItem {
  sha256: string;
  modality: Modality;
  quality: JsonValue;
  templates: AcceptedTemplate[];
  /** Per-reference artefacts (thumbnail, fingerprint: at most one per kind), stored encrypted in the same transaction. */
  artifacts?: NewArtifact[];
}

/** What {@link Registry.enroll} did. */
export interface EnrollResult {
  performerId: string;
  /** sha256 of items written now. */
  added: string[];
  /** sha256 of items the performer already had (not duplicated). */
  duplicates: string[];
  templatesWritten: number;
}

/** Per-call options of identify / verify. */
export interface MatchOptions {
  /** Candidates per query (identify; default 5, at most 100). */
  topK?: number;
  /** Per-search false-match targets (default match 1e-3, possible 1e-2). */
  far?: Partial<SearchRates>;
  /** Short non-biometric context for the audit log (e.g. the media sha256 or path). */
  auditContext?: string;
  /** Evaluate consent at this instant (default now). */
  now?: Date;
}

/** Checks per-call match options (E_INPUT), so a bad option fails before any media is read. */
export function checkMatchOptions(opts: MatchOptions | undefined): MatchOptions {
  const o = options('match options', opts);
  if (o.topK !== undefined) int('topK', o.topK, 1, 100);
  if (o.far !== undefined) {
    const far = options('far', o.far);
    if (far.match !== undefined) num('far.match', far.match, 1e-9, 0.5);
    if (far.possible !== undefined) num('far.possible', far.possible, 1e-9, 0.5);
  }
  if (o.auditContext !== undefined && typeof o.auditContext !== 'string') throw invalid('auditContext must be a string');
  if (o.now !== undefined && !(o.now instanceof Date && Number.isFinite(o.now.getTime()))) throw invalid('now must be a valid Date');
  return o;
}

/** Candidates for one query vector. */
export interface QueryResult {
  candidates: Candidate[];
  suppressed: SuppressedCandidate[];
  /** The decision rule of this search (score thresholds, the false-match rates they hold, gallery size); absent for an empty gallery. */
  thresholds?: SearchThresholds;
  /** Set when the query itself was degenerate (non-finite, zero, constant, or junk): it was not searched, no candidates. */
  degenerate?: DegeneracyKind;
}

/** Options of {@link Registry}. */
export interface RegistryOptions {
  /** Calibration per model id (identify / verify fail with E_MODEL without one). */
  calibration?: (modelId: string) => Calibration | null | undefined | Promise<Calibration | null | undefined>;
  /** AS-norm cohort per model id; used only with calibrations fitted on AS-normed scores. */
  cohort?: (modelId: string) => Cohort | null | undefined;
  /** How searches count comparisons for per-search rates (default `templates`, the conservative one). */
  comparisons?: ComparisonCount;
  /** Audit reported and suppressed matches (default true). */
  auditMatches?: boolean;
  /** How 1:N searches shortlist templates (default `int8`); scores are exact float32 either way. */
  search?: SearchMode;
  /**
   * What the model makes of junk input, per model id: templates this close to it are never stored and queries this
   * close are never searched. Without it (or for null) only non-finite, zero and constant vectors are refused.
   */
  junk?: (modelId: string) => JunkSet | null | undefined | Promise<JunkSet | null | undefined>;
}

/** Centroid weight floor so a low-quality face still counts a little (quality 0 would otherwise vanish). */
const MIN_FACE_WEIGHT = 0.05;

/**
 * The registry service: performers with consent, enrollment (one transaction per call, with per-model centroids),
 * deletion, export, key rotation, and 1:1 / 1:N matching with calibrated, consent-checked decisions.
 */
export class Registry {
  private readonly galleries: GalleryCache;
  /** The reference fingerprint index of the last {@link origins} call (rebuilt when the store moved). */
  private originCache: ReferenceOrigins | null = null;

  /**
   * @param store where performers, references, templates and the audit log live (read and written only here)
   * @param opts calibrations, AS-norm cohorts, comparison counting, match auditing, search mode
   */
  constructor(
    private readonly store: Store,
    private readonly opts: RegistryOptions = {},
  ) {
    this.galleries = new GalleryCache(store);
  }

  /**
   * Creates a performer. A consent record is required unless `noConsent: true` says explicitly to go without.
   * @throws LikenessError E_CONSENT when neither is given or the consent is already expired/withdrawn.
   */
  async createPerformer(p: NewPerformer): Promise<Performer> {
    return this.store.upsertPerformer(newPerformerInput(p));
  }

  /**
   * Creates a performer and enrolls its first items in one store transaction: after a crash the performer exists
   * with everything accepted, or not at all.
   * @throws LikenessError E_CONSENT as {@link createPerformer}; E_INPUT for bad items; E_CRYPTO for a wrong key.
   */
  async enrollNew(p: NewPerformer, items: readonly EnrollItem[]): Promise<EnrollResult & { performer: Performer }> {
    const input = newPerformerInput(p);
    const { references, templates } = await this.prepareEnrollment(null, items);
    const { performer, write: w } = await this.store.createWithEnrollment(input, references, templates);
    return { performer, performerId: performer.id, added: w.added, duplicates: w.duplicates, templatesWritten: w.templatesWritten };
  }

  /** Fails (E_CRYPTO) when the configured key is not the store's: run before costly enrollment work. */
  async verifyWriteKey(): Promise<void> {
    await this.store.verifyWriteKey();
  }

  /** The performer, or E_NOT_FOUND. */
  async getPerformer(id: string): Promise<Performer> {
    const p = await this.store.getPerformer(id);
    if (!p) throw new LikenessError('E_NOT_FOUND', `no performer with id ${id}`);
    return p;
  }

  /** All performers, by name. */
  async listPerformers(): Promise<Performer[]> {
    return this.store.listPerformers();
  }

  /** The performer's stored references (hashes, modality, quality; no media). @throws E_NOT_FOUND */
  async references(performerId: string): Promise<Reference[]> {
    await this.getPerformer(performerId);
    return this.store.references(performerId);
  }

  /** A performer's stored reference artefacts (decrypted), optionally of one kind; empty for an unknown performer. */
  async referenceArtifacts(performerId: string, kind?: ArtifactKind): Promise<StoredArtifact[]> {
    return this.store.referenceArtifacts(str('performer id', performerId), kind);
  }

  /**
   * Every performer's stored artefacts of one kind (decrypted), in a stable order: what an index over reference
   * fingerprints is built from; rebuild it when {@link version} moves.
   */
  artifacts(kind: ArtifactKind): AsyncIterable<StoredArtifact> {
    return this.store.artifacts(kind);
  }

  /** Models with templates and their counts. */
  async models(): Promise<ModelCount[]> {
    return this.store.models();
  }

  /**
   * Performers whose voice is enrolled only under other voice models than `modelId` (e.g. stores enrolled with the
   * weight-free baseline before the neural default): their voice cannot match under `modelId` until it is re-enrolled.
   */
  async voiceOnlyUnder(modelId: string): Promise<{ id: string; name: string; models: string[] }[]> {
    return this.onlyUnderOtherModels('voice', modelId);
  }

  /**
   * Performers whose templates of one modality are all under other models than `modelId` (a face enrolled with the
   * float32 embedder before the int8 default, a voice with the baseline): that modality cannot match under `modelId`
   * until it is re-enrolled. Performers with no template of the modality are not listed.
   */
  async onlyUnderOtherModels(modality: 'face' | 'voice', modelId: string): Promise<{ id: string; name: string; models: string[] }[]> {
    const ofModality = (await this.store.models()).filter((m) => m.modality === modality);
    if (!ofModality.some((m) => m.modelId !== modelId)) return [];
    const out: { id: string; name: string; models: string[] }[] = [];
    for (const p of await this.store.listPerformers()) {
      const models = new Set((await this.store.performerTemplates(p.id)).filter((t) => t.modality === modality).map((t) => t.modelId));
      if (models.size > 0 && !models.has(modelId)) out.push({ id: p.id, name: p.name, models: [...models].sort() });
    }
    return out;
  }

  /**
   * Every stored reference fingerprint in one index ({@link ReferenceOrigins}), rebuilt when the store changed since
   * the last call (enroll, delete, consent), so a scan asks it where each match's media came from.
   */
  async origins(): Promise<ReferenceOrigins> {
    const version = await this.store.changeCounter();
    if (this.originCache && this.originCache.version === version) return this.originCache;
    this.originCache = await ReferenceOrigins.load(this.store);
    return this.originCache;
  }

  /** The store's change counter (moves on every enroll, delete and consent change). */
  async version(): Promise<number> {
    return this.store.changeCounter();
  }

  /** Backend facts: encryption, key ids, schema version, pending scrubs. */
  async info(): Promise<StoreInfo> {
    return this.store.info();
  }

  /** Audit log entries, oldest first. */
  async auditLog(filter?: Parameters<Store['auditLog']>[0]): Promise<AuditEntry[]> {
    return this.store.auditLog(filter);
  }

  /** The gallery 1:N searches of `modelId` run over (cached; rebuilt when the store changed since). */
  gallery(modelId: string): Promise<Gallery> {
    return this.galleries.get(str('model id', modelId));
  }

  /** Releases the store. */
  async close(): Promise<void> {
    await this.store.close();
  }

  /**
   * Enrolls accepted items for a performer in one transaction: references (deduplicated by sha256), item templates,
   * and each touched model's centroid recomputed over all the performer's items (quality-weighted for faces, plain
   * mean for voices).
   * @throws LikenessError E_CONSENT when the performer's consent expired or was withdrawn; E_INPUT for bad items.
   */
  async enroll(performerId: string, items: readonly EnrollItem[]): Promise<EnrollResult> {
    await this.checkCanEnroll(performerId);
    const { references, templates } = await this.prepareEnrollment(performerId, items);
    const w = await this.store.addEnrollment(performerId, references, templates);
    return { performerId, added: w.added, duplicates: w.duplicates, templatesWritten: w.templatesWritten };
  }

  /**
   * Fails unless more references may be enrolled for the performer: E_NOT_FOUND for an unknown one, E_CONSENT when its
   * consent expired or was withdrawn (run before analysing references, and again in {@link enroll}).
   */
  async checkCanEnroll(performerId: string): Promise<Performer> {
    const p = await this.getPerformer(performerId);
    const state = consentState(p);
    if (state === 'expired' || state === 'withdrawn') {
      throw new LikenessError('E_CONSENT', `performer ${performerId}'s consent is ${state}: renew it before enrolling`);
    }
    return p;
  }

  /** References, normalised item templates and each touched model's centroid (`performerId` null: a new performer). */
  private async prepareEnrollment(performerId: string | null, items: readonly EnrollItem[]): Promise<{ references: NewReference[]; templates: NewTemplate[] }> {
    if (items.length === 0) throw invalid('nothing to enroll: no accepted items');
    const dims = new Map((await this.store.models()).map((m) => [m.modelId, { dim: m.dim, modality: m.modality }]));
    const references: NewReference[] = [];
    const newItems: NewTemplate[] = [];
    items.forEach((it, i) => {
      if (it.templates.length === 0) throw invalid(`item ${i} has no accepted templates`);
      references.push({ sha256: it.sha256, modality: it.modality, quality: it.quality, ...(it.artifacts !== undefined ? { artifacts: it.artifacts } : {}) });
      for (const t of it.templates) {
        str(`item ${i} modelId`, t.modelId);
        const known = dims.get(t.modelId);
        if (known && (known.dim !== t.vector.length || known.modality !== it.modality)) {
          throw invalid(`item ${i}: model ${t.modelId} templates are ${known.modality} with ${known.dim} dimensions, got ${it.modality} with ${t.vector.length}`,
          );
        }
        dims.set(t.modelId, { dim: t.vector.length, modality: it.modality });
        newItems.push({
          modelId: t.modelId,
          modality: it.modality,
          kind: 'item',
          vector: usableUnit(t.vector, `item ${i} (${t.modelId})`),
          referenceHash: it.sha256,
          quality: t.quality,
        });
      }
    });
    const centroids = await this.centroids(performerId, newItems);
    // The last line before the store: a degenerate template (it would match junk better than any person) is refused.
    const templates = [...newItems, ...centroids];
    const junk = new Map<string, JunkSet | null>();
    for (const [i, t] of templates.entries()) {
      if (!junk.has(t.modelId)) junk.set(t.modelId, (await this.opts.junk?.(t.modelId)) ?? null);
      const d = degeneracy(t.vector, junk.get(t.modelId));
      if (d) throw degenerateTemplateError(`${t.kind === 'centroid' ? 'the centroid' : `template ${i}`} of model ${t.modelId}`, d);
    }
    return { references, templates };
  }

  /** One centroid per model touched, over existing items plus the new ones the store will keep (same dedup rule). */
  private async centroids(performerId: string | null, newItems: NewTemplate[]): Promise<NewTemplate[]> {
    const out: NewTemplate[] = [];
    for (const modelId of new Set(newItems.map((t) => t.modelId))) {
      const existing = performerId === null ? [] : (await this.store.performerTemplates(performerId, modelId)).filter((t) => t.kind === 'item');
      const had = new Set(existing.map((t) => t.referenceHash));
      const fresh = newItems.filter((t) => t.modelId === modelId && !had.has(t.referenceHash));
      const all: Array<Pick<Template, 'vector' | 'quality' | 'modality'>> = [...existing, ...fresh];
      const modality = fresh[0]?.modality ?? existing[0]!.modality;
      out.push({
        modelId,
        modality,
        kind: 'centroid',
        vector: centroidOf(all, modality),
        referenceHash: null,
        quality: all.reduce((s, t) => s + t.quality, 0) / all.length,
      });
    }
    return out;
  }

  /** Hard-deletes a performer with all references and templates; galleries refresh on the next search. */
  async delete(performerId: string): Promise<boolean> {
    str('performer id', performerId);
    return this.store.deletePerformer(performerId);
  }

  /**
   * Records consent withdrawal now (the performer is suppressed from then on) and optionally deletes everything.
   * @throws LikenessError E_CONSENT when there is no consent record to withdraw and `delete` is not set.
   */
  async withdrawConsent(performerId: string, opts: { delete?: boolean } = {}): Promise<{ withdrawn: boolean; deleted: boolean }> {
    const p = await this.getPerformer(performerId);
    if (p.consent === null && !opts.delete) {
      throw new LikenessError(
        'E_CONSENT',
        `performer ${performerId} was enrolled without consent, so there is nothing to withdraw: delete it instead`,
      );
    }
    let withdrawn = false;
    if (p.consent !== null && p.consent.withdrawnAt === undefined) {
      await this.store.setConsent(performerId, { ...p.consent, withdrawnAt: new Date().toISOString() }, 'withdrawn');
      withdrawn = true;
    }
    const deleted = opts.delete ? await this.store.deletePerformer(performerId) : false;
    return { withdrawn, deleted };
  }

  /** Everything stored about a performer (vectors only when asked). */
  async export(performerId: string, opts: { includeVectors?: boolean } = {}): Promise<PerformerExport> {
    return this.store.exportPerformer(performerId, opts);
  }

  /** Re-encrypts all templates under the provider's current key, then scrubs the old ciphertext from the logs. */
  async rekey(newKeys: KeyProvider, opts: { batchSize?: number } = {}): Promise<RekeyReport> {
    const r = await this.store.rekey(newKeys, opts);
    // Old ciphertext left in the logs is still encrypted (under the old key), so a checkpoint that readers block is
    // not an error here: the next one flushes it.
    await this.store.checkpoint().catch(() => undefined);
    return r;
  }

  /**
   * 1:N search: for each query vector, the top-k performers of `modelId` with calibrated decisions. Matches of
   * performers whose consent expired or was withdrawn are returned in `suppressed` and audited, never in `candidates`.
   */
  async identify(modelId: string, queries: readonly Float32Array[], opts: MatchOptions = {}): Promise<QueryResult[]> {
    str('model id', modelId);
    const k = int('topK', opts.topK ?? 5, 1, 100);
    const cal = await this.calibrationFor(modelId);
    const g = await this.galleries.get(modelId);
    if (g.rows === 0) return queries.map(() => ({ candidates: [], suppressed: [] }));
    // A degenerate query (junk media, a broken model output) is never searched, so it can never match.
    const bad = await this.degenerateQueries(modelId, queries);
    const live = queries.filter((_, i) => bad[i] === null);
    const cohort = this.cohortFor(modelId, cal);
    const mode = this.opts.search;
    const scores = live.length === 0 ? [] : cohort ? await searchPerformersAsNorm(g, live, k, cohort, { mode }) : await searchPerformers(g, live, k, mode);
    const comparisons = galleryComparisons(g, this.opts.comparisons);
    const decided = await this.decideAll(modelId, scores, cal, comparisons, opts);
    let next = 0;
    return queries.map((_, i) => (bad[i] ? { candidates: [], suppressed: [], degenerate: bad[i]! } : decided[next++]!));
  }

  /** Per query: null when usable, else why it is degenerate (see {@link RegistryOptions.junk}). */
  private async degenerateQueries(modelId: string, queries: readonly Float32Array[]): Promise<(DegeneracyKind | null)[]> {
    const junk = (await this.opts.junk?.(modelId)) ?? null;
    return queries.map((q) => (q instanceof Float32Array ? degeneracy(q, junk)?.kind ?? null : null));
  }

  /** 1:1: the performer's best score against the query, decided for a gallery of just that performer. */
  async verify(performerId: string, modelId: string, query: Float32Array, opts: MatchOptions = {}): Promise<QueryResult> {
    str('model id', modelId);
    await this.getPerformer(performerId);
    const cal = await this.calibrationFor(modelId);
    const own = await this.store.performerTemplates(performerId, modelId);
    if (own.length === 0) {
      throw new LikenessError('E_NOT_FOUND', `performer ${performerId} has no ${modelId} templates: enroll media first`);
    }
    const [bad] = await this.degenerateQueries(modelId, [query]);
    if (bad) return { candidates: [], suppressed: [], degenerate: bad };
    const g = buildGallery(modelId, own);
    const cohort = this.cohortFor(modelId, cal);
    const scores = cohort ? await searchPerformersAsNorm(g, [query], 1, cohort) : await searchPerformers(g, [query], 1);
    const [r] = await this.decideAll(modelId, scores, cal, galleryComparisons(g, this.opts.comparisons), opts);
    return r!;
  }

  private async decideAll(
    modelId: string,
    scores: PerformerScore[][],
    cal: Calibration,
    comparisons: number,
    opts: MatchOptions,
  ): Promise<QueryResult[]> {
    const ids = new Set(scores.flat().map((s) => s.performerId));
    const performers = new Map<string, Performer>();
    for (const id of ids) {
      const p = await this.store.getPerformer(id);
      if (p) performers.set(id, p);
    }
    const out: QueryResult[] = [];
    const events: AuditEvent[] = [];
    for (const s of scores) {
      const d = decide(s, { calibration: cal, comparisons, performers, rates: opts.far, now: opts.now });
      out.push({ candidates: d.candidates, suppressed: d.suppressed, thresholds: d.thresholds });
      events.push(...this.auditEvents(modelId, d.candidates, d.suppressed, opts.auditContext));
    }
    if (this.opts.auditMatches !== false) await this.store.auditBatch(events);
    return out;
  }

  /** Audit events for one query's decision: reported and suppressed matches (decision not `none`), no biometrics. */
  private auditEvents(
    modelId: string,
    candidates: Candidate[],
    suppressed: SuppressedCandidate[],
    context: string | undefined,
  ): AuditEvent[] {
    const base = (c: Candidate): Record<string, AuditValue> => ({
      modelId,
      decision: c.decision,
      score: Math.round(c.score * 1e4) / 1e4,
      confidence: Math.round(c.confidence * 1e4) / 1e4,
      context: context ?? null,
    });
    const events: AuditEvent[] = [];
    for (const c of candidates) {
      if (c.decision !== 'none') events.push({ type: 'match.reported', performerId: c.performerId, details: base(c) });
    }
    for (const c of suppressed) {
      if (c.decision !== 'none') {
        events.push({ type: 'match.suppressed', performerId: c.performerId, details: { ...base(c), reason: c.reason } });
      }
    }
    return events;
  }

  private async calibrationFor(modelId: string): Promise<Calibration> {
    const cal = this.opts.calibration ? await this.opts.calibration(modelId) : null;
    if (!cal) {
      throw new LikenessError('E_MODEL', `no calibration for model ${modelId}: run \`likeness calibrate\` or install it`, {
        model: modelId,
      });
    }
    if (cal.modelId !== modelId) {
      throw new LikenessError('E_MODEL', `calibration is for model ${cal.modelId}, not ${modelId}`, { model: modelId });
    }
    return cal;
  }

  private cohortFor(modelId: string, cal: Calibration): Cohort | null {
    const cohort = this.opts.cohort?.(modelId) ?? null;
    if (cal.scoreNorm === 'asnorm' && !cohort) {
      throw new LikenessError('E_MODEL', `the calibration of ${modelId} expects AS-normed scores but no cohort is set`);
    }
    return cal.scoreNorm === 'asnorm' ? cohort : null;
  }
}

/** Normalised mean of unit vectors: weighted by quality for faces (floored), plain for voices. */
export function centroidOf(items: ReadonlyArray<Pick<Template, 'vector' | 'quality'>>, modality: Modality): Float32Array {
  if (items.length === 0) throw invalid('a centroid needs at least one template');
  const dim = items[0]!.vector.length;
  const acc = new Float64Array(dim);
  for (const t of items) {
    const w = modality === 'face' ? Math.max(MIN_FACE_WEIGHT, t.quality) : 1;
    for (let i = 0; i < dim; i++) acc[i]! += w * t.vector[i]!;
  }
  return normalise(Float32Array.from(acc));
}

/** A unit copy of an enrollment vector, or the typed degenerate-template error (E_QUALITY) naming it. */
function usableUnit(v: Float32Array, what: string): Float32Array {
  if (!(v instanceof Float32Array)) throw invalid(`${what}: vector must be a Float32Array`);
  const d = degeneracy(v);
  if (d) throw degenerateTemplateError(what, d);
  return normalise(v);
}

/** The store input for a new performer; consent required unless `noConsent: true`, and not already expired. */
function newPerformerInput(p: NewPerformer): { name: string; aliases: string[]; consent: Consent | null } {
  str('performer name', p.name);
  if (p.consent && p.noConsent) throw invalid('give either a consent record or noConsent, not both');
  if (!p.consent && p.noConsent !== true) {
    throw new LikenessError(
      'E_CONSENT',
      'enrollment needs a consent record (--consent-by / --consent-file) or an explicit --no-consent',
    );
  }
  const consent = p.consent ? normaliseConsent(p.consent) : null;
  const draft: Performer = { id: '', name: p.name, aliases: [], consent, createdAt: '', updatedAt: '' };
  const state = consentState(draft);
  if (state === 'expired' || state === 'withdrawn') {
    throw new LikenessError('E_CONSENT', `the consent record is already ${state}`);
  }
  return { name: p.name, aliases: p.aliases ?? [], consent };
}
