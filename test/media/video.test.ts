import { execFileSync } from 'child_process';
import * as path from 'path';
import { ffmpegPath } from '../../src/media/ffmpeg';
import { scaledSize, streamVideoFrames } from '../../src/media/video';
import { makeTmpDir, makeTone, truncateFile } from '../helpers/media';

const tmp = makeTmpDir('lg-video-');
const f = (n: string): string => path.join(tmp.dir, n);

beforeAll(() => {
  // 4 s, 1920x1080 at 25 fps: red for 2 s then blue (one scene change at 2 s).
  execFileSync(ffmpegPath(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=1920x1080:r=25:d=2', '-f', 'lavfi', '-i', 'color=c=blue:s=1920x1080:r=25:d=2',
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f('two.mp4'),
  ]);
});
afterAll(() => tmp.cleanup());

test('frames are sampled at N fps, scaled to at most maxWidth, with times index / fps', async () => {
  const got: { time: number; w: number; h: number; r: number; b: number }[] = [];
  for await (const fr of streamVideoFrames(f('two.mp4'), { fps: 2 })) {
    const { width, height, data } = fr.image;
    const mid = ((height >> 1) * width + (width >> 1)) * 3;
    got.push({ time: fr.time, w: width, h: height, r: data[mid]!, b: data[mid + 2]! });
  }
  expect(got.map((g) => g.time)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
  expect(got[0]).toMatchObject({ w: 1280, h: 720 });
  expect(got[0]!.r).toBeGreaterThan(200);
  expect(got[7]!.b).toBeGreaterThan(200);
});

test('scene mode yields frames at scene changes with their timestamps', async () => {
  const times: number[] = [];
  for await (const fr of streamVideoFrames(f('two.mp4'), { fps: 5, mode: 'scene', maxWidth: 320 })) times.push(fr.time);
  expect(times.length).toBeGreaterThanOrEqual(1);
  expect(times.some((t) => Math.abs(t - 2) < 0.1)).toBe(true);
});

test('no video stream, truncated files and bad options give LikenessErrors', async () => {
  makeTone(f('tone.wav'));
  const drain = async (file: string, o = {}): Promise<void> => {
    for await (const fr of streamVideoFrames(file, o)) void fr;
  };
  await expect(drain(f('tone.wav'))).rejects.toMatchObject({ code: 'E_UNSUPPORTED' });
  truncateFile(f('two.mp4'), f('cut.mp4'), 0.5);
  await expect(drain(f('cut.mp4'))).rejects.toMatchObject({ code: expect.stringMatching(/E_DECODE|E_UNSUPPORTED/) });
  await expect(drain(f('two.mp4'), { fps: 0 })).rejects.toMatchObject({ code: 'E_INPUT' });
});

test('breaking out of the loop stops ffmpeg (no hang)', async () => {
  let n = 0;
  for await (const fr of streamVideoFrames(f('two.mp4'), { fps: 10 })) {
    void fr;
    if (++n === 2) break;
  }
  expect(n).toBe(2);
});

test('scaled sizes are even and keep the aspect ratio', () => {
  expect(scaledSize(1920, 1080, 1280)).toEqual({ width: 1280, height: 720 });
  expect(scaledSize(641, 361, 1280)).toEqual({ width: 640, height: 360 });
});
