import type { FaceDetection, RgbImage } from '../types';

/** A face detector: every face in an RGB image with its box, five landmarks and score. */
export interface FaceDetector {
  /** Stable id (manifest id or preset name). */
  readonly id: string;
  /** All faces found, best score first. */
  detect(image: RgbImage): Promise<FaceDetection[]>;
}

/** A face embedder: one L2-normalised embedding per face, from the image and the face's detection. */
export interface FaceEmbedder {
  /** Stable model id (manifest id). */
  readonly id: string;
  /** Output dimension. */
  readonly dim: number;
  /** Embeddings for `faces` of `image`, in the same order, each L2-normalised. */
  embed(image: RgbImage, faces: FaceDetection[]): Promise<Float32Array[]>;
  /** Embeddings of crops already aligned to the 112x112 ArcFace template (lets callers reuse one warp). */
  embedAligned?(crops: RgbImage[], faces: FaceDetection[]): Promise<Float32Array[]>;
  /**
   * Embeddings together with the 112x112 ArcFace-aligned crops they were made from, for embedders that crop
   * straight from the frame (the analyzer reuses the crops for quality instead of warping again).
   */
  embedWithCrops?(image: RgbImage, faces: FaceDetection[]): Promise<{ embeddings: Float32Array[]; crops: RgbImage[] }>;
}
