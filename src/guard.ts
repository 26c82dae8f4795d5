import * as path from 'path';
import { LikenessError } from './errors';
import { FaceAnalyzer, FacePreset } from './face/analyzer';
import { decodeAudio } from './media/audio';
import type { Candidate } from './match/decide';
import { MatchOptions, Registry } from './match/registry';
import { dataHome } from './paths';
import { openStore } from './store/open';
import type { Consent, KeyProvider, Performer, Store } from './store/types';
import type { Box } from './types';
import { VoiceEmbedder } from './voice/embed';
import { findCalibration } from './match/calibrations';
import { AcceptedItem, RejectedItem, gateReferences } from './enroll/gate';
import { detectMediaKind } from './media/kind';
import type { ScanFailure, ScanResult } from './report/schema';
import { ScanEvent, ScanInput, ScanManyOptions, ScanOptions, scanFile, scanMany } from './scan/scanner';

/** Options of {@link Guard.open}. */
export interface GuardOptions {
  /** Store file (default: likeness.db in the user's data directory, or $LIKENESS_HOME). */
  db?: string;
  /** Template key (hex/base64 text, 32 raw bytes or a provider); default `LIKENESS_KEY`. */
  key?: KeyProvider | Uint8Array | string | null;
  /** Face pipeline preset; default `accurate`. */
  facePreset?: FacePreset;
  /** Voice model id; default the first installed neural model, else the weight-free baseline. */
  voiceModel?: string;
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
}

/** Matches found in one media file. */
export interface MediaMatches {
  media: { path: string; kind: string };
  faces: { box: Box; quality: number; candidates: Candidate[] }[];
  voices: { start: number; end: number; candidates: Candidate[] }[];
  warnings: string[];
}

/** The default store file. */
export function defaultDbPath(): string {
  return path.join(dataHome(), 'likeness.db');
}

/**
 * The facade for pipelines: opens a store, enrolls performers with consent through the enrollment gate, and
 * verifies (1:1) or identifies (1:N) faces and voices in media with calibrated, consent-checked decisions.
 */
export class Guard {
  private voicePromise: Promise<VoiceEmbedder> | undefined;

  private constructor(
    /** The registry (performers, consent, templates, matching). */
    readonly registry: Registry,
    /** The face pipeline. */
    readonly faces: FaceAnalyzer,
    private readonly opts: GuardOptions,
  ) {}

  /** Opens (creating when missing) the store and prepares the pipelines; models load on first use. */
  static async open(opts: GuardOptions = {}): Promise<Guard> {
    const store = await openStore({ location: opts.db ?? defaultDbPath(), ...(opts.key !== undefined ? { key: opts.key } : {}) });
    // A performer's score is the best over its templates (items and centroid of the same person, highly correlated),
    // so the per-search rate counts performers; counting every template would double N for a one-photo enrollment
    // (item + its own centroid) and measured 23/26 instead of 26/26 right on the identities protocol (RESULTS.md).
    const registry = new Registry(store, { calibration: (modelId) => findCalibration(modelId), comparisons: 'performers' });
    const faces = await FaceAnalyzer.create({ preset: opts.facePreset ?? 'accurate' });
    return new Guard(registry, faces, opts);
  }

  /** The store under the registry. */
  get store(): Store {
    return this.registry.store;
  }

  /** The voice pipeline, created on first use. */
  voice(): Promise<VoiceEmbedder> {
    this.voicePromise ??= VoiceEmbedder.create(this.opts.voiceModel ? { model: this.opts.voiceModel } : {});
    return this.voicePromise;
  }

  /**
   * Enrolls reference media. Each file goes through the gate (accepted or rejected with a reason); accepted ones are
   * written in one transaction. A new performer is created only when at least one reference is accepted.
   */
  async enroll(target: EnrollTarget, files: string[], opts: { largest?: boolean } = {}): Promise<EnrollReport> {
    if (files.length === 0) throw new LikenessError('E_INPUT', 'no reference file given');
    let performer: Performer | null = 'id' in target ? await this.registry.getPerformer(target.id) : null;
    if (!('id' in target) && !target.consent && target.noConsent !== true) {
      throw new LikenessError('E_CONSENT', 'enrollment needs a consent record (--consent-by / --consent-file) or an explicit --no-consent');
    }
    const { accepted, rejected } = await gateReferences(files, { face: this.faces, voice: () => this.voice() }, opts);
    if (accepted.length === 0) {
      return { performerId: performer?.id ?? null, name: performer?.name ?? ('name' in target ? target.name : ''), accepted: [], rejected };
    }
    performer ??= await this.registry.createPerformer(target as Exclude<EnrollTarget, { id: string }>);
    const r = await this.registry.enroll(performer.id, accepted.map((a) => a.item));
    // The first occurrence of newly added media is the original; repeats (in this call or stored before) are duplicates.
    const fresh = new Set(r.added);
    const isDuplicate = (a: AcceptedItem): boolean => !fresh.delete(a.item.sha256);
    return {
      performerId: performer.id,
      name: performer.name,
      accepted: accepted.map((a) => ({ file: a.file, modality: a.modality, quality: a.quality, ...(isDuplicate(a) ? { duplicate: true } : {}) })),
      rejected,
    };
  }

  /** 1:N: every face and every stretch of speech in `file` against the whole gallery. */
  async identify(file: string, opts: MatchOptions = {}): Promise<MediaMatches> {
    return this.match(file, undefined, opts);
  }

  /** 1:1: every face and stretch of speech in `file` against one performer. */
  async verify(performerId: string, file: string, opts: MatchOptions = {}): Promise<MediaMatches> {
    await this.registry.getPerformer(performerId);
    return this.match(file, performerId, opts);
  }

  private async match(file: string, performerId: string | undefined, opts: MatchOptions): Promise<MediaMatches> {
    const kind = await detectMediaKind(file);
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
    if (ve.isBaseline) out.warnings.push('voice model: weight-free baseline (run `likeness models pull campplus-voxceleb` for neural accuracy)');
    const v = await ve.embed(await decodeAudio(file));
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
    return scanFile(this, input, opts);
  }

  /**
   * Scans many inputs with bounded concurrency as an async iterator of progress and result events (one `result` or
   * `skipped` event per input). Stop early with `signal` or by leaving the loop.
   *
   * @example
   * for await (const e of guard.scanMany(files, { concurrency: 2 })) if (e.type === 'result') console.log(e.result);
   */
  scanMany(inputs: readonly ScanInput[], opts: ScanManyOptions = {}): AsyncGenerator<ScanEvent, void, undefined> {
    return scanMany(this, inputs, opts);
  }

  /** Closes the store. */
  async close(): Promise<void> {
    await this.store.close();
  }
}
