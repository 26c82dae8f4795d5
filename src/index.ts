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
export { similarityTransform, ARCFACE_112, largestFace } from './face/geometry';
export { evalFacePairs, cosine } from './eval/face-eval';
export type { FaceEvalResult } from './eval/face-eval';
export { verificationMetrics, minDcf } from './eval/metrics';
export type { VerificationMetrics } from './eval/metrics';
export { readPairsCsv } from './eval/csv';
export type { LabelledPair } from './eval/csv';
export { loadManifest, modelEntry } from './models/manifest';
export type { Manifest, ModelEntry, ModelSource } from './models/manifest';
export { resolveModelFile, isModelPresent, dataHome } from './models/registry';
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
export { Guard, defaultDbPath } from './scan/guard';
export type { GuardOptions, EnrollTarget, EnrollReport, MediaMatches } from './scan/guard';
export { detectMediaKind } from './scan/media-kind';
export type { MediaKind } from './scan/media-kind';
