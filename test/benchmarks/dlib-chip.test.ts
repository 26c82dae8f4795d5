import { alignDlibChip, dlibChipTemplate, DLIB_MEAN_FIVE } from '../../benchmarks/dlib-chip';
import { applyAffine, similarityTransform } from '../../src/kernels/geometry';
import type { FivePoints, RgbImage } from '../../src/types';

describe('dlib chip template', () => {
  it('places the mean shape with dlib padding: p -> (0.25 + p) / 1.5 * 150', () => {
    const t = dlibChipTemplate();
    // Left eye centre of dlib's mean shape is x 0.2255, y 0.2160 in the unit square.
    expect(t[0][0]).toBeCloseTo((0.25 + DLIB_MEAN_FIVE[0][0]) * 100, 6);
    expect(t[0][1]).toBeCloseTo(46.6, 1);
    // Mouth corners sit at y 0.780233 -> 103.02 px; the face is symmetric about x ~ 74 px.
    expect(t[3][1]).toBeCloseTo(103.02, 2);
    expect((t[0][0] + t[1][0]) / 2).toBeCloseTo(74.01, 1);
    expect(t[1][0] - t[0][0]).toBeCloseTo(52.93, 1);
  });

  it('scales about the chip centre and shifts by dy', () => {
    const base = dlibChipTemplate();
    const t = dlibChipTemplate({ scale: 0.5, dy: 3 });
    expect(t[2][0]).toBeCloseTo((base[2][0] - 75) * 0.5 + 75, 6);
    expect(t[2][1]).toBeCloseTo((base[2][1] - 75) * 0.5 + 75 + 3, 6);
  });

  it('rejects a bad size with E_INPUT', () => {
    expect(() => dlibChipTemplate({ size: 0 })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
    expect(() => dlibChipTemplate({ scale: Number.NaN })).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  });

  it('maps landmarks of a scaled, shifted face onto the template', () => {
    const tpl = dlibChipTemplate();
    const face = tpl.map(([x, y]) => [x * 2 + 40, y * 2 + 10]) as FivePoints;
    const m = similarityTransform(face, tpl);
    for (let i = 0; i < 5; i++) {
      const p = applyAffine(m, face[i]!);
      expect(p[0]).toBeCloseTo(tpl[i]![0], 6);
      expect(p[1]).toBeCloseTo(tpl[i]![1], 6);
    }
  });

  it('cuts a 150x150 chip where a marked eye pixel lands on the template eye', () => {
    const W = 400, H = 400;
    const data = new Uint8Array(W * H * 3).fill(20);
    const tpl = dlibChipTemplate();
    const face = tpl.map(([x, y]) => [x * 2 + 40, y * 2 + 10]) as FivePoints;
    // A bright 6x6 block centred on the left eye.
    const [ex, ey] = face[0];
    for (let y = Math.round(ey) - 3; y < Math.round(ey) + 3; y++) {
      for (let x = Math.round(ex) - 3; x < Math.round(ex) + 3; x++) data.fill(250, (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
    const img: RgbImage = { width: W, height: H, data };
    const chip = alignDlibChip(img, face);
    expect(chip.width).toBe(150);
    expect(chip.height).toBe(150);
    const at = (x: number, y: number) => chip.data[(Math.round(y) * 150 + Math.round(x)) * 3]!;
    expect(at(tpl[0][0] - 0.5, tpl[0][1] - 0.5)).toBeGreaterThan(200);
    expect(at(tpl[1][0], tpl[1][1])).toBeLessThan(50);
  });
});
