import * as fs from 'fs';
import * as path from 'path';
import { LikenessError, isLikenessError } from './errors';
import { evalFacePairs } from './eval/face-eval';
import { evalVoiceTrials } from './eval/voice-eval';
import { nativeInfo, type NativeInfo } from './kernels/addon';
import { fitCalibration, ratesAtThresholds, type ThresholdRates } from './match/calibration';
import { userCalibrationFile } from './match/calibrations';
import { listModels } from './models/store';
import { FaceAnalyzer, FacePreset } from './face/analyzer';
import { decodeAudio } from './media/audio';
import type { Candidate } from './match/decide';
import { MatchOptions, Registry, checkMatchOptions } from './match/registry';
import { dataHome } from './paths';
import { openStore, storeWarnings, type OpenStoreOptions } from './store/open';
import { staticKeyProvider } from './store/crypto';
import type { Consent, KeyProvider, Performer, PerformerExport, Reference, RekeyReport, StoreInfo } from './store/types';
import type { Box } from './types';
import type { JunkSet } from './kernels/vector';
import { BASELINE_NOTICE, DEFAULT_VOICE_MODEL, VoiceEmbedder } from './voice/embed';
import { findCalibration } from './match/calibrations';
import { AcceptedItem, GateNote, RejectedItem, gateReferences } from './enroll/gate';
import { probeInput } from './media/kind';
import { ffmpegInfo, ffmpegWarnings, newDecodeReport, type FfmpegInfo } from './media/ffmpeg';
import { resolveLimits, type MediaLimits } from './media/limits';
import type { ReportReferenceThumbnails, ScanFailure, ScanResult } from './report/schema';
import { checkScanOptions, ScanEngines, ScanEvent, ScanInput, ScanManyOptions, ScanOptions, scanFile, scanMany } from './scan/scanner';
import { invalid, bool, fn, list, oneOf, options, str } from './validate';

/** Options of {@link Guard.open}. */
export interface GuardOptions {
  /** Store file or `postgres://` URL (default: `LIKENESS_DB`, else likeness.db in the user's data directory or $LIKENESS_HOME). */
  db?: string;
  /** Template key (hex/base64 text, 32 raw bytes or a provider); default `LIKENESS_KEY`. */
  key?: KeyProvider | Uint8Array | string | null;
  /** Keys that may still decrypt (never encrypt) templates, e.g. during a rotation; default `LIKENESS_OLD_KEYS`. */
  oldKeys?: ReadonlyArray<Uint8Array | string>;
  /** Face pipeline preset; default `accurate`. */
  facePreset?: FacePreset;
  /** Voice model id; default `campplus-zh-en` (shipped). `baseline-mfcc-stats` selects the weight-free baseline, flagged in every result's warnings. */
  voiceModel?: string;
  /**
   * Limits on every input this guard reads (enroll, verify, identify, scan): file bytes, image pixels, video frame
   * bytes, decoded duration, audio channels and sample rate, files per folder. Unset ones keep their defaults.
   */
  limits?: Partial<MediaLimits>;
}

/** Who to enroll into: a new performer (`name` + consent) or an existing one (`id`). */
export type EnrollTarget =
  | { name: string; aliases?: string[]; consent?: Consent; noConsent?: boolean }
  | { id: string };

/** What {@link Guard.enroll} did, per reference. */
export interface EnrollReport {
  /** Null when no reference was accepted for a new performer (nothing was created). */
  performerId: string | null;
  name: string;
  accepted: { file: string; modality: 'face' | 'voice'; quality: unknown; duplicate?: boolean }[];
  rejected: RejectedItem[];
  /** Notes on accepted references a person should read, e.g. a video whose voice was skipped (two speakers) and why. */
  notes: GateNote[];
  /** The model ids the references were (or would have been) enrolled under. */
  models: GuardModels;
}

/** The model ids a {@link Guard} embeds with: face embedder and voice model. */
export interface GuardModels {
  /** Face embedder id (e.g. `faceplugin-mfn512`). */
  face: string;
  /** Voice model id (e.g. `campplus-zh-en`, or `baseline-mfcc-stats`). */
  voice: string;
}

/** Matches found in one media file. */
export interface MediaMatches {
  media: { path: string; kind: string };
  faces: { box: Box; quality: number; candidates: Candidate[] }[];
  voices: { start: number; end: number; candidates: Candidate[] }[];
  warnings: string[];
}

/** What {@link Guard.doctor} found: `ok` when there is nothing to fix; each warning says how to fix it. */
export interface DoctorReport {
  ok: boolean;
  warnings: string[];
  /** Store facts, or null when the store could not be opened (the reason is in `warnings`). */
  store: StoreInfo | null;
  native: NativeInfo;
  /** The ffmpeg in use (video and non-WAV audio), where it was found and its version. */
  ffmpeg: FfmpegInfo;
  models: { id: string; state: string }[];
}

/** Options of {@link Guard.calibrate}. */
export interface CalibrateOptions {
  /** `faces`: a pairs CSV (`fileA,fileB,same`); `voices`: a trials CSV of the same shape. */
  modality: 'faces' | 'voices';
  /** The labelled list. */
  list: string;
  /** Folder the list's paths are relative to. */
  root: string;
  /** Face preset (faces only). */
  preset?: FacePreset;
  /** Voice model id (voices only). */
  model?: string;
  /** Write the fitted calibration as the deployment's own (default true); false only shows it. */
  write?: boolean;
  /** Called as pairs are scored. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link Guard.calibrate} fitted, and the list's own error rates at the fitted thresholds. */
export interface CalibrateReport {
  model: string;
  method: string;
  /** The calibration file written, or null when `write` was false. */
  written: string | null;
  genuine: number;
  impostor: number;
  failed: number;
  /** FAR / FRR on the list at the `match` and `possible` thresholds of a one-performer search. */
  atThresholds: { match: ThresholdRates; possible: ThresholdRates };
}

/** The default store file. */
export function defaultDbPath(): string {
  return path.join(dataHome(), 'likeness.db');
}

/** Variable naming the store (a file or a `postgres://` URL), so connection passwords stay out of `ps`. */
export const DB_ENV = 'LIKENESS_DB';

/** The store used when none is passed: `LIKENESS_DB`, else {@link defaultDbPath}. */
export function defaultStoreLocation(): string {
  return process.env[DB_ENV] || defaultDbPath();
}

/**
 * The facade for pipelines: opens a store, enrolls performers with consent through the enrollment gate, and
 * verifies (1:1) or identifies (1:N) faces and voices in media with calibrated, consent-checked decisions.
 */
export class Guard {
  private voicePromise: Promise<VoiceEmbedder> | undefined;
  /** Performers enrolled only under other models, per `modality:modelId`, as of one gallery version. */
  private reenrollCache: { version: number; stale: Map<string, { id: string; name: string; models: string[] }[]> } | undefined;
  /** The limits every input is checked against. */
  readonly limits: Readonly<MediaLimits>;
  /** The model ids this guard enrolls and matches with. */
  readonly models: Readonly<GuardModels>;

  private readonly engines: ScanEngines;

  private constructor(
    private readonly registry: Registry,
    /** The face pipeline (shared model sessions; also usable on its own). */
    readonly faces: FaceAnalyzer,
    private readonly opts: GuardOptions,
  ) {
    this.limits = Object.freeze(resolveLimits(opts.limits));
    this.models = Object.freeze({ face: faces.modelId, voice: opts.voiceModel ?? DEFAULT_VOICE_MODEL });
    this.engines = { registry, faces, voice: () => this.voice() };
  }

  /** Opens (creating when missing) the store and prepares the pipelines; models load on first use. */
  static async open(opts: GuardOptions = {}): Promise<Guard> {
    checkGuardOptions(opts);
    const limits = resolveLimits(opts.limits); // argument errors before the store is opened
    const store = await openStore(storeOptions(opts));
    // A performer's score is the best over its templates (items and centroid of the same person, highly correlated),
    // so the per-search rate counts performers; counting every template would double N for a one-photo enrollment
    // (item + its own centroid) and measured 23/26 instead of 26/26 right on the identities protocol (RESULTS.md).
    // Templates and queries close to what a model makes of junk are never stored or searched (bound once the guard exists).
    let junkFor: (modelId: string) => Promise<JunkSet | null> = async () => null;
    const registry = new Registry(store, { calibration: (modelId) => findCalibration(modelId), comparisons: 'performers', junk: (modelId) => junkFor(modelId) });
    const faces = await FaceAnalyzer.create({ preset: opts.facePreset ?? 'accurate', limits });
    const guard = new Guard(registry, faces, opts);
    junkFor = (modelId) => guard.junkSetFor(modelId);
    return guard;
  }

  /**
   * Checks the installation and the store: models present and verified, native kernels, template encryption, key
   * rotations and hard-delete scrubs still to finish. Never throws for a store that cannot open (that is a warning).
   */
  static async doctor(opts: GuardOptions = {}): Promise<DoctorReport> {
    checkGuardOptions(opts);
    const warnings: string[] = [];
    const models = await listModels();
    const voiceNeural = models.filter((m) => m.modality === 'voice' && m.task === 'embed' && m.source !== 'builtin');
    if (!voiceNeural.some((m) => m.state === 'verified' || m.state === 'present')) {
      warnings.push('no neural voice model verified: the shipped voice model files are missing or corrupt; reinstall likeness-guard');
    }
    let store: StoreInfo | null = null;
    try {
      const s = await openStore(storeOptions(opts));
      try {
        store = await s.info();
        const reg = new Registry(s);
        warnings.push(...reenrollVoiceWarnings(await reg.voiceOnlyUnder(opts.voiceModel ?? DEFAULT_VOICE_MODEL), opts.voiceModel ?? DEFAULT_VOICE_MODEL));
        // The preset's embedder id (models load lazily: nothing is read to learn it).
        const faceModel = (await FaceAnalyzer.create({ preset: opts.facePreset ?? 'accurate' })).modelId;
        warnings.push(...reenrollFaceWarnings(await reg.onlyUnderOtherModels('face', faceModel), faceModel));
      } finally {
        await s.close();
      }
      warnings.push(...storeWarnings(store));
    } catch (e) {
      if (!isLikenessError(e)) throw e;
      warnings.push(`store: ${e.code}: ${e.message}`);
    }
    const native = nativeInfo();
    if (!native.available) warnings.push(`native kernels are not in use: the TypeScript implementations run instead (slower): ${native.reason ?? 'unknown reason'}`);
    const ffmpeg = ffmpegInfo();
    warnings.push(...ffmpegWarnings(ffmpeg));
    return { ok: warnings.length === 0, warnings, store, native, ffmpeg, models: models.map((m) => ({ id: m.id, state: m.state })) };
  }

  /**
   * Fits a calibration (score -> false-match rate) on a deployment's own labelled pairs and, unless `write` is
   * false, installs it as the deployment's calibration for that model (it wins over the shipped one).
   * @throws LikenessError E_INPUT when the list gives fewer than 10 genuine or 100 impostor scores.
   */
  static async calibrate(opts: CalibrateOptions): Promise<CalibrateReport> {
    if (opts === undefined || opts === null) throw invalid('calibrate needs {modality, list, root}');
    options('calibrate options', opts);
    oneOf('modality', opts.modality, ['faces', 'voices'] as const);
    str('list', opts.list);
    str('root', opts.root);
    if (opts.preset !== undefined) oneOf('preset', opts.preset, ['accurate', 'fast'] as const);
    if (opts.model !== undefined) str('model', opts.model);
    if (opts.write !== undefined) bool('write', opts.write);
    if (opts.onProgress !== undefined) fn('onProgress', opts.onProgress);
    if (!fs.existsSync(opts.list)) throw new LikenessError('E_NOT_FOUND', `labelled list not found: ${opts.list}`, { file: opts.list });
    const r =
      opts.modality === 'faces'
        ? await evalFacePairs(await FaceAnalyzer.create({ preset: opts.preset ?? 'accurate' }), opts.list, opts.root, opts.onProgress)
        : await evalVoiceTrials(await VoiceEmbedder.create(opts.model ? { model: opts.model } : {}), opts.list, opts.root, opts.onProgress);
    const genuine = r.scores.filter((s) => s.same && s.score > -1).map((s) => s.score);
    const impostor = r.scores.filter((s) => !s.same && s.score > -1).map((s) => s.score);
    if (genuine.length < 10 || impostor.length < 100) {
      throw invalid(`too few scored pairs to calibrate (${genuine.length} genuine, ${impostor.length} impostor; need 10 and 100)`);
    }
    const cal = fitCalibration(genuine, impostor, { modelId: r.model, source: path.basename(opts.list) });
    const out = userCalibrationFile(r.model);
    const write = opts.write ?? true;
    if (write) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify(cal, null, 2) + '\n');
    }
    return {
      model: r.model,
      method: cal.method,
      written: write ? out : null,
      genuine: genuine.length,
      impostor: impostor.length,
      failed: r.failed,
      atThresholds: ratesAtThresholds(cal, genuine, impostor),
    };
  }

  /** The registry's change counter: moves on every enroll, delete and consent change anywhere in the store. */
  galleryVersion(): Promise<number> {
    return this.registry.version();
  }

  /** Store facts: backend, encryption, key ids, schema version, pending scrubs. */
  storeInfo(): Promise<StoreInfo> {
    return this.registry.info();
  }

  /** All performers, by name. */
  listPerformers(): Promise<Performer[]> {
    return this.registry.listPerformers();
  }

  /** One performer with its stored references (hashes and quality; no media). @throws E_NOT_FOUND */
  async performer(id: string): Promise<Performer & { references: Reference[] }> {
    str('performer id', id);
    const p = await this.registry.getPerformer(id);
    return { ...p, references: await this.registry.references(id) };
  }

  /**
   * Hard-deletes a performer (references, templates, thumbnails and fingerprints: everything but the audit trail) in
   * one transaction. True once committed; the deleted bytes are then scrubbed from the store's logs
   * (`storeInfo().scrubPending` while readers delay it). False when there was no such performer.
   */
  deletePerformer(id: string): Promise<boolean> {
    return this.registry.delete(id);
  }

  /**
   * The enrolled reference thumbnails of these performers, for an evidence page (the `referenceThumbnails` of the
   * file given to `renderHtmlReport`): JPEG data URLs of at most 96 px, face references only, at most 4 per performer,
   * in enrollment order. A performer enrolled before thumbnails were kept, or no longer stored, gets an empty list.
   * Thumbnails are biometric data: hand them to a report only, never to logs or JSON output. `references` (sha256
   * values, e.g. the references a scan found reused) are included beyond the first 4 as well.
   * @throws LikenessError E_INPUT for a bad id list; E_CRYPTO when the store's key is not configured.
   */
  async referenceThumbnails(performerIds: readonly string[], references: readonly string[] = []): Promise<ReportReferenceThumbnails[]> {
    const ids = [...new Set(list<string>('performer ids', performerIds).map((id, i) => str(`performer id ${i}`, id)))];
    const wanted = new Set(list<string>('references', references).map((r, i) => str(`reference ${i}`, r)));
    const out: ReportReferenceThumbnails[] = [];
    for (const id of ids) {
      const faces = (await this.registry.referenceArtifacts(id, 'thumbnail')).filter((a) => a.modality === 'face');
      const refs = faces.filter((a, i) => i < 4 || wanted.has(a.referenceHash));
      out.push({ performerId: id, thumbnails: refs.map((a) => ({ referenceHash: a.referenceHash, thumbnail: `data:image/jpeg;base64,${Buffer.from(a.data).toString('base64')}` })) });
    }
    return out;
  }

  /** Everything stored about a performer (template vectors and artefact bytes, e.g. thumbnails, only when asked). */
  async exportPerformer(id: string, opts: { includeVectors?: boolean } = {}): Promise<PerformerExport> {
    str('performer id', id);
    if (options('export options', opts).includeVectors !== undefined) bool('includeVectors', opts.includeVectors);
    await this.registry.getPerformer(id);
    return this.registry.export(id, opts);
  }

  /** Withdraws consent now (the performer is never reported again) and, with `delete`, hard-deletes everything. */
  async withdrawConsent(id: string, opts: { delete?: boolean } = {}): Promise<{ withdrawn: boolean; deleted: boolean }> {
    str('performer id', id);
    if (options('withdraw options', opts).delete !== undefined) bool('delete', opts.delete);
    return this.registry.withdrawConsent(id, opts);
  }

  /**
   * Re-encrypts every template under the configured key (`key`, default `LIKENESS_KEY`), reading rows written under
   * `oldKeys`; a batch per transaction, so searches keep working while it runs.
   * @throws LikenessError E_CRYPTO when no key is configured.
   */
  async rekey(): Promise<RekeyReport> {
    const key = this.opts.key === undefined ? process.env.LIKENESS_KEY : this.opts.key;
    if (!key) throw new LikenessError('E_CRYPTO', 'no key to encrypt with: set LIKENESS_KEY (and LIKENESS_OLD_KEYS to the keys being replaced)');
    return this.registry.rekey(typeof key === 'function' ? key : staticKeyProvider(key));
  }

  /** The junk set of the face or voice model `modelId` this guard runs, else null (other models: basic checks only). */
  private async junkSetFor(modelId: string): Promise<JunkSet | null> {
    if (modelId === this.faces.modelId) return this.faces.junkSet();
    if (modelId === this.models.voice) return (await this.voice()).junkSet();
    return null;
  }

  /** The voice pipeline, created on first use. */
  voice(): Promise<VoiceEmbedder> {
    // Windows end at pauses over 0.5 s, so that one window does not mix two speakers taking turns (scan, verify,
    // identify; enrollment references get the same windows).
    // No pause-cut windows here: the scanner first splits speech into speaker turns (voice/turns.ts) and embeds each
    // turn whole; cutting windows at short pauses as well made turns of other speakers score as the performer's.
    this.voicePromise ??= VoiceEmbedder.create({ ...(this.opts.voiceModel ? { model: this.opts.voiceModel } : {}) });
    return this.voicePromise;
  }

  /**
   * Enrolls reference media. Each file goes through the gate (accepted or rejected with a reason); accepted ones are
   * written in one transaction. A new performer is created only when at least one reference is accepted. A video
   * enrolls the face on screen most (`largest`: the largest on average; E_QUALITY when two compete) and its voice when
   * one speaker holds 70% of the speech (otherwise a note says why it was skipped).
   */
  async enroll(target: EnrollTarget, files: string[], opts: { largest?: boolean } = {}): Promise<EnrollReport> {
    checkEnrollTarget(target);
    list<string>('reference files', files, 1).forEach((f, i) => str(`reference file ${i}`, f));
    if (options('enroll options', opts).largest !== undefined) bool('largest', opts.largest);
    // An existing performer must still consent before its references are analysed (withdrawn or expired: E_CONSENT).
    let performer: Performer | null = 'id' in target ? await this.registry.checkCanEnroll(target.id) : null;
    if (!('id' in target) && !target.consent && target.noConsent !== true) {
      throw new LikenessError('E_CONSENT', 'enrollment needs a consent record (--consent-by / --consent-file) or an explicit --no-consent');
    }
    // A wrong key can never write (and is told before the references are analysed).
    await this.registry.verifyWriteKey();
    const { accepted, rejected, notes } = await gateReferences(files, { face: this.faces, voice: () => this.voice() }, { ...opts, limits: this.limits });
    if (accepted.length === 0) {
      return { performerId: performer?.id ?? null, name: performer?.name ?? ('name' in target ? target.name : ''), accepted: [], rejected, notes, models: { ...this.models } };
    }
    // A new performer is created in the same transaction as its first references (never one with nothing enrolled).
    let r: { added: string[] };
    if (performer) r = await this.registry.enroll(performer.id, accepted.map((a) => a.item));
    else {
      const created = await this.registry.enrollNew(target as Exclude<EnrollTarget, { id: string }>, accepted.map((a) => a.item));
      performer = created.performer;
      r = created;
    }
    // The first file holding newly added media is the original; repeats (in this call or stored before) are
    // duplicates. A video gives a face and a voice item of the same media: both belong to its file.
    const fresh = new Set(r.added);
    const owner = new Map<string, number>();
    const isDuplicate = (a: AcceptedItem, i: number): boolean => {
      const input = a.input ?? i;
      if (fresh.delete(a.item.sha256)) owner.set(a.item.sha256, input);
      return !owner.has(a.item.sha256) || owner.get(a.item.sha256) !== input;
    };
    return {
      performerId: performer.id,
      name: performer.name,
      accepted: accepted.map((a, i) => ({ file: a.file, modality: a.modality, quality: a.quality, ...(isDuplicate(a, i) ? { duplicate: true } : {}) })),
      rejected,
      notes,
      models: { ...this.models },
    };
  }

  /**
   * Adds references (photos, recordings, videos) to an existing performer in one enrollment transaction: the same
   * gate and consent checks as {@link enroll} with `{id}` (a withdrawn or expired consent refuses, E_CONSENT). Media
   * the performer already has is reported `duplicate` and not stored twice.
   * @throws LikenessError E_NOT_FOUND for an unknown performer; E_INPUT for bad arguments.
   */
  async addReferences(performerId: string, files: string[], opts: { largest?: boolean } = {}): Promise<EnrollReport> {
    str('performer id', performerId);
    return this.enroll({ id: performerId }, files, opts);
  }

  /** 1:N: every face and every stretch of speech in `file` against the whole gallery. */
  async identify(file: string, opts: MatchOptions = {}): Promise<MediaMatches> {
    return this.match(str('media file', file), undefined, checkMatchOptions(opts));
  }

  /** 1:1: every face and stretch of speech in `file` against one performer. */
  async verify(performerId: string, file: string, opts: MatchOptions = {}): Promise<MediaMatches> {
    str('performer id', performerId);
    str('media file', file);
    checkMatchOptions(opts);
    await this.registry.getPerformer(performerId);
    return this.match(file, performerId, opts);
  }

  private async match(file: string, performerId: string | undefined, opts: MatchOptions): Promise<MediaMatches> {
    const { kind } = await probeInput(file, { limits: this.limits });
    const out: MediaMatches = { media: { path: file, kind }, faces: [], voices: [], warnings: [] };
    const ctx = { ...opts, auditContext: opts.auditContext ?? path.basename(file) };
    if (kind === 'image') {
      const { faces } = await this.faces.analyze(file);
      const results = await this.search(this.faces.modelId, faces.map((f) => f.embedding), performerId, ctx);
      out.faces = faces.map((f, i) => ({ box: f.detection.box, quality: f.quality.score, candidates: results[i]! }));
      return out;
    }
    if (kind === 'video') out.warnings.push('faces in video are matched by `likeness scan`; verify/identify check the soundtrack');
    const ve = await this.voice();
    if (ve.isBaseline) out.warnings.push(BASELINE_NOTICE);
    out.warnings.push(...(await this.reenrollWarnings(ve.modelId, performerId)));
    const report = newDecodeReport();
    const v = await ve.embed(await decodeAudio(file, { limits: this.limits, report, maxSeconds: Math.min(3600, this.limits.maxDurationS) }));
    out.warnings.push(...report.warnings);
    const results = await this.search(ve.modelId, v.windows.map((w) => w.embedding), performerId, ctx);
    out.voices = v.windows.map((w, i) => ({ start: w.start, end: w.end, candidates: results[i]! }));
    return out;
  }

  private async search(modelId: string, queries: Float32Array[], performerId: string | undefined, opts: MatchOptions): Promise<Candidate[][]> {
    if (queries.length === 0) return [];
    if (performerId === undefined) return (await this.registry.identify(modelId, queries, opts)).map((r) => r.candidates);
    const out: Candidate[][] = [];
    for (const q of queries) out.push((await this.registry.verify(performerId, modelId, q, opts)).candidates);
    return out;
  }

  /**
   * Scans one input (path, Buffer or byte stream) for enrolled performers: faces in images and video (tracked over
   * sampled frames), voices in audio and soundtracks, with segments, evidence and fused verdicts. An input that
   * cannot be scanned gives `{media: {path}, error}`; store, key, model and abort failures are thrown.
   */
  async scan(input: ScanInput, opts: ScanOptions = {}): Promise<ScanResult | ScanFailure> {
    return this.withReenrollWarnings(await scanFile(this.engines, input, { limits: this.limits, ...checkScanOptions(opts) }));
  }

  private async withReenrollWarnings(r: ScanResult | ScanFailure): Promise<ScanResult | ScanFailure> {
    if ('warnings' in r && (r.media.kind === 'image' || r.media.kind === 'video')) {
      r.warnings.push(...reenrollFaceWarnings(await this.staleUnder('face', this.faces.modelId), this.faces.modelId));
    }
    if ('warnings' in r && (r.media.kind === 'audio' || r.media.kind === 'video')) {
      r.warnings.push(...(await this.reenrollWarnings((await this.voice()).modelId)));
    }
    return r;
  }

  /** Performers enrolled in `modality` only under other models than `modelId` (cached per gallery version). */
  private async staleUnder(modality: 'face' | 'voice', modelId: string): Promise<{ id: string; name: string; models: string[] }[]> {
    const version = await this.registry.version();
    if (this.reenrollCache?.version !== version) this.reenrollCache = { version, stale: new Map() };
    const key = `${modality}:${modelId}`;
    let stale = this.reenrollCache.stale.get(key);
    if (!stale) this.reenrollCache.stale.set(key, (stale = await this.registry.onlyUnderOtherModels(modality, modelId)));
    return stale;
  }

  /** Per performer whose voice is enrolled only under other models: re-enrolling the voice fixes it (cached per gallery version). */
  private async reenrollWarnings(modelId: string, performerId?: string): Promise<string[]> {
    const stale = (await this.staleUnder('voice', modelId)).filter((p) => performerId === undefined || p.id === performerId);
    return reenrollVoiceWarnings(stale, modelId);
  }

  /**
   * Scans many inputs with bounded concurrency as an async iterator of progress and result events (one `result` or
   * `skipped` event per input). Stop early with `signal` or by leaving the loop.
   *
   * @example
   * for await (const e of guard.scanMany(files, { concurrency: 2 })) if (e.type === 'result') console.log(e.result);
   */
  scanMany(inputs: readonly ScanInput[], opts: ScanManyOptions = {}): AsyncGenerator<ScanEvent, void, undefined> {
    const events = scanMany(this.engines, inputs, { limits: this.limits, ...checkScanOptions(opts) });
    const withWarnings = async function* (this: Guard): AsyncGenerator<ScanEvent, void, undefined> {
      for await (const e of events) yield e.type === 'result' ? { ...e, result: await this.withReenrollWarnings(e.result) } : e;
    };
    return withWarnings.call(this);
  }

  /** Closes the store. */
  async close(): Promise<void> {
    await this.registry.close();
  }
}

/** Checks {@link GuardOptions} (E_INPUT) before anything is opened. */
function checkGuardOptions(opts: GuardOptions): void {
  options('Guard options', opts);
  if (opts.db !== undefined) str('db', opts.db);
  if (opts.facePreset !== undefined) oneOf('facePreset', opts.facePreset, ['accurate', 'fast'] as const);
  if (opts.voiceModel !== undefined) str('voiceModel', opts.voiceModel);
  if (opts.oldKeys !== undefined) {
    list('oldKeys', opts.oldKeys).forEach((k, i) => {
      if (typeof k !== 'string' && !(k instanceof Uint8Array)) throw invalid(`oldKeys[${i}] must be key text or bytes`);
    });
  }
}

/** Checks an {@link EnrollTarget}: `{id}` of an existing performer, or `{name, consent | noConsent, aliases?}`. */
function checkEnrollTarget(target: EnrollTarget): void {
  if (target === undefined || target === null) throw invalid('enroll needs a target: {name, consent} for a new performer or {id} for an existing one');
  options('enroll target', target);
  if ('id' in target) {
    str('performer id', target.id);
    return;
  }
  str('performer name', target.name);
  if (target.aliases !== undefined) list<string>('aliases', target.aliases).forEach((a, i) => str(`aliases[${i}]`, a));
  if (target.consent !== undefined) options('consent', target.consent);
  if (target.noConsent !== undefined) bool('noConsent', target.noConsent);
}

function storeOptions(opts: GuardOptions): OpenStoreOptions {
  return {
    location: opts.db ?? defaultStoreLocation(),
    ...(opts.key !== undefined ? { key: opts.key } : {}),
    ...(opts.oldKeys !== undefined ? { oldKeys: opts.oldKeys } : {}),
  };
}


/** Performers named in full in the face warning; more are counted. */
const FACE_WARNING_NAMES = 5;

/**
 * One warning for the performers whose face templates are all under other face models than `modelId` (e.g. enrolled
 * with the float32 embedder before the int8 default): scanning cannot match their faces until they are re-enrolled.
 */
function reenrollFaceWarnings(stale: readonly { id: string; name: string; models: string[] }[], modelId: string): string[] {
  if (stale.length === 0) return [];
  const models = [...new Set(stale.flatMap((p) => p.models))].sort().join(', ');
  const named = stale.slice(0, FACE_WARNING_NAMES).map((p) => `${p.name} (${p.id})`).join(', ');
  const more = stale.length > FACE_WARNING_NAMES ? ` and ${stale.length - FACE_WARNING_NAMES} more` : '';
  const first = stale.length === 1 ? stale[0]!.id : 'ID';
  return [
    `${stale.length} performer${stale.length === 1 ? ' has' : 's have'} face templates only for ${models}, so their faces cannot match under ${modelId} (the face model in use): ${named}${more}; re-enroll their face images (likeness enroll --id ${first} FACE_FILES) to fix it`,
  ];
}

/** One warning per performer whose voice templates are all under other models than `modelId`. */
function reenrollVoiceWarnings(stale: readonly { id: string; name: string; models: string[] }[], modelId: string): string[] {
  return stale.map(
    (p) =>
      `performer ${p.name} (${p.id}): voice enrolled only with ${p.models.join(', ')}, so it cannot match under ${modelId}; re-enroll the voice (likeness enroll --id ${p.id} VOICE_FILES) to fix it`,
  );
}
