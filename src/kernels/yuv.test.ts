import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ffmpegPath } from '../media/ffmpeg';
import { planVideoFrames, streamDecodedFrames, decodedRgb } from '../media/video';
import { lumaGrid } from '../scan/scanner';
import { makeTmpDir } from '../../test/helpers/media';
import { testIf } from '../../test/helpers/requires';
import { nativeAvailable } from './addon';
import { i420ToRgb, i420ToRgbTs, yuvMatrixOf, type I420Image } from './yuv';

// I420 -> RGB as ffmpeg's own `-pix_fmt rgb24` does it: the frames the scanner analyses come from this conversion,
// so it must give what ffmpeg gave before the pipe carried I420. Checked against the ffmpeg in use on a test pattern
// (sharp colour edges) untagged (BT.601) and tagged BT.709.

const { dir, cleanup } = makeTmpDir('likeness-yuv-');
afterAll(cleanup);

function ff(args: string[]): Buffer {
  return execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', ...args], { maxBuffer: 64 * 2 ** 20 });
}

function clip(name: string, tags: string[]): string {
  const f = path.join(dir, name);
  if (!fs.existsSync(f)) ff(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=10:d=1', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', ...tags, '-y', f]);
  return f;
}

function frames(file: string, fmt: 'yuv420p' | 'rgb24'): Buffer {
  return ff(['-i', file, '-vf', 'fps=2,scale=320:240:flags=bilinear', '-f', 'rawvideo', '-pix_fmt', fmt, 'pipe:1']);
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('I420 to RGB', () => {
  for (const [name, tags, colorSpace] of [
    ['untagged (BT.601)', [], undefined],
    ['BT.709', ['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709'], 'bt709'],
  ] as const) {
    test(`${name}: the bytes ffmpeg's rgb24 gives (at most 3 levels off on a build without swscale's SIMD path)`, async () => {
      const f = clip(`${colorSpace ?? 'none'}.mp4`, [...tags]);
      const yuv = frames(f, 'yuv420p');
      const rgb = frames(f, 'rgb24');
      const fy = (320 * 240 * 3) / 2, fb = 320 * 240 * 3;
      expect(yuv.length / fy).toBe(rgb.length / fb);
      expect(yuv.length).toBeGreaterThan(0);
      let worst = 0;
      for (let k = 0; k < yuv.length / fy; k++) {
        const img: I420Image = { width: 320, height: 240, data: new Uint8Array(yuv.subarray(k * fy, (k + 1) * fy)) };
        const out = await i420ToRgb(img, yuvMatrixOf(colorSpace));
        expect(maxDiff(out.data, i420ToRgbTs(img, yuvMatrixOf(colorSpace)).data)).toBe(0);
        worst = Math.max(worst, maxDiff(out.data, rgb.subarray(k * fb, (k + 1) * fb)));
      }
      expect(worst).toBeLessThanOrEqual(3);
      // The wrong matrix is far off on this pattern: the tag is what decides.
      const img: I420Image = { width: 320, height: 240, data: new Uint8Array(yuv.subarray(0, fy)) };
      expect(maxDiff(i420ToRgbTs(img, colorSpace ? 'bt601' : 'bt709').data, rgb.subarray(0, fb))).toBeGreaterThan(10);
    });
  }

  test('the scanner gets I420 for a limited-range yuv420p stream at its own size, RGB otherwise; its RGB is ffmpeg\'s', async () => {
    const f = clip('none.mp4', []);
    const plan = await planVideoFrames(f);
    expect(plan.transport).toBe('i420');
    expect((await planVideoFrames(f, { maxWidth: 160 })).transport).toBe('rgb24'); // scaled: ffmpeg converts
    const full = path.join(dir, 'full.avi');
    ff(['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=10:d=1', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-y', full]);
    expect((await planVideoFrames(full)).transport).toBe('rgb24'); // full range
    const rgb = frames(f, 'rgb24');
    let k = 0;
    for await (const fr of streamDecodedFrames(f, { fps: 2 }, plan)) {
      expect(fr.i420).not.toBeNull();
      const img = await decodedRgb(fr);
      expect(maxDiff(img.data, rgb.subarray(k * 320 * 240 * 3, (k + 1) * 320 * 240 * 3))).toBeLessThanOrEqual(3);
      // The skip tests' luma from the Y plane is the RGB luma, but for saturated colours whose RGB clips (a test
      // pattern's colour bars): on average within two levels.
      const a = lumaGrid(fr).luma, b = lumaGrid(img).luma;
      expect(a.length).toBe(b.length);
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
      expect(sum / a.length).toBeLessThan(2);
      k++;
    }
    expect(k).toBe(2);
  });

  testIf(nativeAvailable(), 'the native addon', 'native')('native and TS give the same bytes on random frames of several sizes', async () => {
    let seed = 7;
    for (const [w, h] of [[2, 2], [64, 48], [1280, 720]] as const) {
      const data = new Uint8Array((w * h * 3) / 2).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
      for (const m of ['bt601', 'bt709', 'fcc', 'smpte240m', 'bt2020'] as const) {
        const a = (await i420ToRgb({ width: w, height: h, data }, m)).data, b = i420ToRgbTs({ width: w, height: h, data }, m).data;
        expect(a.length).toBe(w * h * 3);
        expect(maxDiff(a, b)).toBe(0);
      }
    }
  });

  test('bad frames are E_INPUT', async () => {
    await expect(i420ToRgb({ width: 3, height: 2, data: new Uint8Array(9) })).rejects.toMatchObject({ code: 'E_INPUT' });
    await expect(i420ToRgb({ width: 4, height: 2, data: new Uint8Array(5) })).rejects.toMatchObject({ code: 'E_INPUT' });
    expect(() => i420ToRgbTs({ width: 0, height: 0, data: new Uint8Array(0) })).toThrow(/even positive/);
  });
});
