/**
 * likeness-guard: enroll performers' faces and voices with consent, scan media, get calibrated matches with evidence.
 * @packageDocumentation
 */
export { LikenessError, isLikenessError } from './errors';
export type { ErrorCode } from './errors';
export type { RgbImage, Box, Point, FivePoints, FaceDetection, FaceQuality, QualityReason, Face } from './types';
export { decodeImage, DEFAULT_MAX_PIXELS } from './media/image';
export type { ImageInput, DecodeImageOptions } from './media/image';
export { FaceAnalyzer } from './face/analyzer';
export type { FaceAnalyzerOptions, FaceAnalysis, FacePreset } from './face/analyzer';
export type { FaceDetector, FaceEmbedder } from './face/detector';
export { FacepluginDetector, FacepluginEmbedder, alignArcFace } from './face/faceplugin';
export type { FacepluginDetectorOptions, FacepluginEmbedderOptions } from './face/faceplugin';
export { FallbackDetector } from './face/fallback';
export { faceQuality, QUALITY_LIMITS } from './face/quality';
export { similarityTransform, ARCFACE_112, largestFace, iou as boxIou } from './kernels/geometry';
export { evalFacePairs, cosine } from './eval/face-eval';
export type { FaceEvalResult } from './eval/face-eval';
export { verificationMetrics, minDcf } from './eval/metrics';
export type { VerificationMetrics } from './eval/metrics';
export { readPairsCsv } from './eval/csv';
export type { LabelledPair } from './eval/csv';
export { loadManifest, modelEntry } from './models/manifest';
export type { Manifest, ModelEntry, ModelSource } from './models/manifest';
export { resolveModelFile, isModelPresent } from './models/registry';
export { dataHome } from './paths';
export { detectSpeech, SILERO_VAD_ID } from './voice/vad';
export type { SpeechSegment, VadOptions, VadMethod, MonoSignal } from './voice/vad';
export { VoiceEmbedder, BASELINE_NOTICE } from './voice/embed';
export type { VoiceWindow, VoiceEmbedding, VoiceEmbedderOptions } from './voice/embed';
export { BASELINE_MODEL_ID } from './voice/baseline';
export { OnnxSpeakerModel, speakerModelInfo } from './voice/onnx-speaker';
export type { SpeakerModelInfo, SpeakerFeatureConfig, FeatureMatrix } from './voice/onnx-speaker';
export { readOnnxMetadata } from './models/onnx-meta';
export { pullModel, addModel, listModels } from './models/store';
export type { PullOptions, InstalledModel, ModelStatus, ModelState } from './models/store';
export { evalVoiceTrials } from './eval/voice-eval';
export type { VoiceEvalResult } from './eval/voice-eval';
export { Guard, defaultDbPath } from './guard';
export type { GuardOptions, EnrollTarget, EnrollReport, MediaMatches } from './guard';
export { detectMediaKind } from './media/kind';
export type { MediaKind } from './media/kind';
export { openStore, storeWarnings } from './store/open';
export type { OpenStoreOptions } from './store/open';
export { openSqliteStore, SqliteStore, defaultStorePath, SQLITE_SCHEMA_VERSION } from './store/sqlite';
export type { SqliteStoreOptions } from './store/sqlite';
export { KEY_ENV, parseKey, keyIdOf, keyMaterial, staticKeyProvider, envKeyProvider, chainKeyProviders } from './store/crypto';
export type {
  Store, StoreInfo, Performer, PerformerInput, Consent, Reference, Template, TemplateInfo, TemplateKind, Modality,
  NewReference, NewTemplate, EnrollmentWrite, AuditEvent, AuditEntry, AuditType, AuditValue, PerformerExport,
  KeyMaterial, KeyProvider, RekeyReport, ModelCount, JsonValue,
} from './store/types';
export { Registry, centroidOf } from './match/registry';
export type { NewPerformer, AcceptedTemplate, EnrollItem, EnrollResult, MatchOptions, QueryResult, RegistryOptions } from './match/registry';
export {
  fitCalibration, confidence, searchThresholds, perComparisonRate, impostorThreshold, impostorRate,
  parseCalibration, loadCalibrationFile, DEFAULT_RATES,
} from './match/calibration';
export type {
  Calibration, CalibrationMethod, CalibrationMeta, ImpostorTail, LogisticParams, IsotonicParams, SearchRates, SearchThresholds,
} from './match/calibration';
export { decide, consentState, galleryComparisons, Cohort, asNormScore, searchPerformersAsNorm } from './match/decide';
export type { Candidate, SuppressedCandidate, SuppressionReason, ConsentState, ComparisonCount, DecideOptions, Decision } from './match/decide';
export { buildGallery, loadGallery, GalleryCache, searchPerformers } from './match/gallery';
export { topK, topKGroups } from './kernels/search';
export type { Gallery, PerformerScore } from './match/gallery';
export type { TopK } from './kernels/search';
export { SCAN_SCHEMA_VERSION, isScanFailure } from './report/schema';
export type { ScanResult, ScanFailure, ScanMatch, ScanVerdict, ScanMedia, MatchSegment, MatchEvidence, ScanReportFile } from './report/schema';
export { decodeAudio, streamAudio, pcmToSignal, AUDIO_SAMPLE_RATE } from './media/audio';
export type { AudioSignal, AudioInput, DecodeAudioOptions, StreamAudioOptions } from './media/audio';
export { probeMedia, ffmpegPath, ffprobePath } from './media/ffmpeg';
export type { MediaInfo, MediaStreamInfo } from './media/ffmpeg';
export { fbank, applyCmn, KALDI_FBANK_DEFAULTS } from './kernels/fbank';
export type { Fbank, FbankOptions, FbankWindow } from './kernels/fbank';
export { MeshDetector, MESH_DETECTOR_ID } from './face/mesh';
export type { MeshDetectorOptions } from './face/mesh';
export { renderHtmlReport } from './report/html';
export type { HtmlReportOptions } from './report/html';
export { scanFile, scanMany, sha256File } from './scan/scanner';
export type { ScanEngines, ScanInput, ScanOptions, ScanProgress, ScanManyOptions, ScanEvent } from './scan/scanner';
export { streamVideoFrames, planVideoFrames } from './media/video';
export type { VideoFrame, VideoFrameOptions, VideoFramePlan } from './media/video';
export { FaceTracker } from './scan/track';
export type { FaceTrack, TrackSegment, FaceObservation } from './scan/track';
export { verdicts, fuseConfidence } from './scan/fuse';
export type { ScanStats } from './report/schema';
export { nativeAvailable, nativeInfo } from './kernels/addon';
export { computeFbank } from './kernels/fbank';
export { cropFacesNchw, letterboxNchw } from './kernels/image';
export { postprocessDetections } from './kernels/detect';
export { searchTopK, quantizeGallery, searchTopKInt8 } from './kernels/search';
export { resampleAudio } from './kernels/resample';
export type { NativeInfo, NativeOptions } from './kernels/addon';
export type { CropOptions, LetterboxOptions } from './kernels/image';
export type { DetectionParams, ScoredBox } from './kernels/detect';
export type { QuantizedGallery } from './kernels/search';
