/**
 * likeness-guard: enroll performers' faces and voices with consent, scan media, get calibrated matches with evidence.
 * @packageDocumentation
 */
export { LikenessError, isLikenessError } from './errors';
export type { ErrorCode } from './errors';
export type { RgbImage, Box, Point, FivePoints, FaceDetection, FaceQuality, QualityReason, Face } from './types';
export { decodeImage, DEFAULT_MAX_PIXELS } from './media/image';
export type { ImageInput, DecodeImageOptions } from './media/image';
