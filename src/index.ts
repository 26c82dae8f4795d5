/**
 * likeness-guard: enroll performers' faces and voices with consent, scan media, get calibrated matches with evidence.
 *
 * The root entry is the API the README documents: the {@link Guard} facade, the face and voice pipelines on their
 * own, the scan result schema and its HTML report, and the error type. The native kernels are a subpath
 * (`likeness-guard/kernels`).
 * @packageDocumentation
 */
export { LikenessError, isLikenessError } from './errors';
export type { ErrorCode } from './errors';

export { Guard, defaultDbPath } from './guard';
export type { GuardOptions, GuardModels, EnrollTarget, EnrollReport, MediaMatches, DoctorReport, CalibrateOptions, CalibrateReport } from './guard';
export type { ScanInput, ScanOptions, ScanManyOptions, ScanEvent, ScanProgress } from './scan/scanner';
export type { MatchOptions } from './match/registry';
export type { Candidate, SuppressedCandidate, SuppressionReason, Decision } from './match/decide';
export type { SearchRates } from './match/calibration';
export type { ThresholdRates } from './match/calibration';
export type { Performer, Consent, Reference, PerformerExport, RekeyReport, StoreInfo, KeyProvider, KeyMaterial, AuditEntry, AuditType, TemplateInfo, ArtifactInfo, ArtifactKind, Modality, JsonValue } from './store/types';

export { FaceAnalyzer } from './face/analyzer';
export type { FaceAnalyzerOptions, FaceAnalysis, FacePreset } from './face/analyzer';
export type { JunkSet } from './kernels/vector';
export type { FaceDetector, FaceEmbedder } from './face/detector';
export type { RgbImage, Box, Point, FivePoints, FaceDetection, FaceQuality, QualityReason, Face } from './types';
export type { ImageInput } from './media/image';

export { VoiceEmbedder } from './voice/embed';
export type { VoiceWindow, VoiceEmbedding, VoiceEmbedderOptions } from './voice/embed';
export type { SpeechSegment, VadMethod } from './voice/vad';
export { decodeAudio, pcmToSignal } from './media/audio';
export type { AudioSignal, AudioInput, DecodeAudioOptions } from './media/audio';

export { SCAN_SCHEMA_VERSION, isScanFailure } from './report/schema';
export type { ScanResult, ScanFailure, ScanMatch, ScanVerdict, ScanMedia, ScanStats, MatchSegment, MatchEvidence, ScanReportFile, SkippedInput, DecisionRule, ReportModel, ReportConsent, ReportPerformer, ReportReferenceThumbnails, ReferenceThumbnail } from './report/schema';
export { renderHtmlReport } from './report/html';
export { formatConfidence } from './report/format';
export { scanReportFile } from './report/provenance';
export { renderPdf, type PdfOptions } from './report/pdf';
export type { HtmlReportOptions } from './report/html';

// The input gate and its limits: every entry point reads media through these (the job worker too).
export { gateInput, statRegularFile, listMediaFiles } from './media/gate';
export type { GatedInput, InputGateOptions, MediaSourceInput, WalkProblem, WalkOptions } from './media/gate';
export { DEFAULT_LIMITS, resolveLimits } from './media/limits';
export type { MediaLimits } from './media/limits';
export { probeInput } from './media/kind';
export type { ProbedMedia, ProbeInputOptions, MediaKind } from './media/kind';
export type { MediaInfo, MediaStreamInfo, DecodeReport, FfmpegInfo, ToolSource } from './media/ffmpeg';
