import type { FaceDetection, RgbImage } from '../types';
import type { FaceDetector } from './detector';

/**
 * Runs detectors in order and returns the first non-empty result: the better-aligned detector leads, the other
 * recovers the faces it misses.
 */
export class FallbackDetector implements FaceDetector {
  /** Id made of the chain's ids. */
  readonly id: string;

  constructor(private readonly chain: FaceDetector[]) {
    this.id = chain.map((d) => d.id).join('+');
  }

  /** Faces from the first detector in the chain that finds any. */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    for (const d of this.chain) {
      const faces = await d.detect(image);
      if (faces.length) return faces.map((f) => (f.source ? f : { ...f, source: d.id }));
    }
    return [];
  }
}
