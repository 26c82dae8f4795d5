import { isLikenessError } from '../errors';
import { formatConfidence, modalityLabel } from './format';

test('confidence prints as a percentage with one decimal, capped at >99.9%', () => {
  expect(formatConfidence(0)).toBe('0.0%');
  expect(formatConfidence(0.5)).toBe('50.0%');
  expect(formatConfidence(0.9731)).toBe('97.3%');
  expect(formatConfidence(0.999)).toBe('99.9%');
  expect(formatConfidence(0.9991)).toBe('>99.9%');
  expect(formatConfidence(0.99996)).toBe('>99.9%');
  expect(formatConfidence(1)).toBe('>99.9%');
  for (const bad of [-0.01, 1.01, NaN, '0.5' as unknown as number]) {
    let err: unknown;
    try {
      formatConfidence(bad);
    } catch (e) {
      err = e;
    }
    expect(isLikenessError(err) && err.code === 'E_INPUT').toBe(true);
  }
});

test('modality labels name exactly the modalities that agreed', () => {
  expect(modalityLabel(['voice'], false)).toBe('voice only');
  expect(modalityLabel(['face'], false)).toBe('face only');
  expect(modalityLabel(['face', 'voice'], true)).toBe('face and voice together');
  expect(modalityLabel(['face', 'voice'], false)).toBe('face and voice, at different times');
});
