import { invalid } from '../validate';

/**
 * A calibrated confidence (0..1) as people read it, the same in the terminal and the HTML report: a percentage with
 * one decimal, capped at `>99.9%` (calibrated confidences crowd near 1, and 0.9999 is not certainty, so nothing prints
 * as 100%). The JSON keeps the fraction.
 *
 * @throws LikenessError `E_INPUT` when `confidence` is not a number in 0..1.
 * @example
 * formatConfidence(0.9731); // '97.3%'
 * formatConfidence(0.99996); // '>99.9%'
 */
export function formatConfidence(confidence: number): string {
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) throw invalid('confidence must be a number in 0..1');
  return confidence * 100 > 99.9 ? '>99.9%' : `${(confidence * 100).toFixed(1)}%`;
}

/** Which modalities agreed, in words: `face and voice together`, `face only` or `voice only`. */
export function modalityLabel(modalities: readonly string[], together: boolean): string {
  const face = modalities.includes('face');
  const voice = modalities.includes('voice');
  if (face && voice) return together ? 'face and voice together' : 'face and voice, at different times';
  return voice ? 'voice only' : 'face only';
}
