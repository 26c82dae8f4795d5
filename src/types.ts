/** A decoded image: RGB, 8 bits per channel, row-major, no padding. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An axis-aligned box in pixels of the image it was found in. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A 2-D point in pixels. */
export type Point = [number, number];

/** Five facial landmarks in the ArcFace order: left eye, right eye, nose tip, left mouth corner, right mouth corner
 * (left/right as seen in the image). */
export type FivePoints = [Point, Point, Point, Point, Point];

/** One detected face before embedding. */
export interface FaceDetection {
  box: Box;
  landmarks: FivePoints;
  /** Detector confidence in [0, 1]. */
  score: number;
  /** Id of the detector that found it (landmark conventions differ slightly between detectors). */
  source?: string;
}

/** Why a face is considered poor for matching. */
export type QualityReason = 'small' | 'blurred' | 'pose' | 'low_score' | 'dark' | 'overexposed';

/** Face quality: `score` in [0, 1] (1 best) and the reasons it was lowered. */
export interface FaceQuality {
  score: number;
  reasons: QualityReason[];
  /** Distance between eye centres in pixels of the source image. */
  interocular: number;
  /** Variance of the Laplacian of the aligned grey crop (higher is sharper). */
  sharpness: number;
  /** Estimated yaw and pitch in degrees from the landmarks (0 is frontal). */
  yaw: number;
  pitch: number;
  /** Mean luminance of the aligned crop, 0..255. */
  brightness: number;
}

/** A face with its quality and identity embedding. */
export interface Face {
  detection: FaceDetection;
  quality: FaceQuality;
  /** L2-normalised identity embedding; compare with cosine (dot product). */
  embedding: Float32Array;
  /** Id of the model (or preset) that made `embedding`. */
  modelId: string;
}
