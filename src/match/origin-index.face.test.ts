import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { FaceAnalyzer } from '../face/analyzer';
import { REFERENCE_VIDEO_FPS, faceHash, faceQueryHashes, visualFingerprint, type FaceHashFrame } from '../face/fingerprint';
import { ffmpegPath } from '../media/ffmpeg';
import { decodeImage } from '../media/image';
import { streamVideoFrames } from '../media/video';
import type { FaceDetection, RgbImage } from '../types';
import { describeIf } from '../../test/helpers/requires';
import { makeTmpDir } from '../../test/helpers/media';
import { optionalSampleImage, sampleImage } from '../../test/helpers/images';
import { composeVideo, cutFace } from '../../test/helpers/scan-media';
import { FACE_THRESHOLD, OriginIndex, deserializeFingerprint, serializeFingerprint } from './origin-index';

// Reuse of an enrolled photo or clip under the transforms of issue 16 (scale 50%, 10% crop, mirror, brightness +-30%,
// H.264 at 300 kb/s) finds the right reference (and offset for a clip); other photos and other people do not match.
// Photos: the MIT-licensed face-api sample pictures (npm); other photos of the same person: ../shared/eval when present.

const EVAL = path.resolve(__dirname, '../../../shared/eval/faces');

let analyzer: FaceAnalyzer;
const detect = async (img: RgbImage): Promise<FaceDetection[]> => (await analyzer.detect(img)).filter((d) => Math.max(d.box.w, d.box.h) >= 40);
const tmp = makeTmpDir('lg-origin-face-');

beforeAll(async () => {
  analyzer = await FaceAnalyzer.create();
});
afterAll(() => tmp.cleanup());

function ffmpeg(args: string[]): void {
  execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The face in `faces` whose box centre is nearest to `p`, if within 20 px. */
function nearest(faces: FaceDetection[], p: [number, number]): FaceDetection | undefined {
  let best: FaceDetection | undefined, bd = 20;
  for (const f of faces) {
    const d = Math.hypot(f.box.x + f.box.w / 2 - p[0], f.box.y + f.box.h / 2 - p[1]);
    if (d < bd) [best, bd] = [f, d];
  }
  return best;
}

describeIf(optionalSampleImage(6) !== undefined, 'the face-api sample photos')('photo reuse', () => {
  type Transform = { name: string; make: (file: string, w: number, h: number) => Promise<RgbImage>; map: (p: [number, number], w: number, h: number) => [number, number]; mirrored?: boolean };
  const transforms: Transform[] = [
    { name: 'scale 50%', make: async (f, w) => decodeImage(await sharp(f).resize(Math.round(w / 2)).jpeg().toBuffer()), map: ([x, y]) => [x / 2, y / 2] },
    { name: 'crop 10%', make: async (f, w, h) => decodeImage(await sharp(f).extract({ left: Math.round(w * 0.05), top: Math.round(h * 0.05), width: Math.round(w * 0.9), height: Math.round(h * 0.9) }).jpeg().toBuffer()), map: ([x, y], w, h) => [x - Math.round(w * 0.05), y - Math.round(h * 0.05)] },
    { name: 'mirror', make: async (f) => decodeImage(await sharp(f).flop().jpeg().toBuffer()), map: ([x, y], w) => [w - 1 - x, y], mirrored: true },
    { name: 'brightness +30%', make: async (f) => decodeImage(await sharp(f).modulate({ brightness: 1.3 }).jpeg().toBuffer()), map: (p) => p },
    { name: 'brightness -30%', make: async (f) => decodeImage(await sharp(f).modulate({ brightness: 0.7 }).jpeg().toBuffer()), map: (p) => p },
    {
      name: 'H.264 300 kb/s at half size',
      make: async (f) => {
        const v = path.join(tmp.dir, 'still.mp4');
        const png = path.join(tmp.dir, 'frame.png');
        ffmpeg(['-loop', '1', '-i', f, '-t', '2', '-r', '25', '-vf', 'scale=960:-2,format=yuv420p', '-c:v', 'libx264', '-b:v', '300k', v]);
        ffmpeg(['-ss', '1.5', '-i', v, '-frames:v', '1', png]);
        return decodeImage(png);
      },
      map: ([x, y]) => [x / 2, y / 2],
    },
  ];
  const refs: { id: string; file: string; w: number; h: number; face: FaceDetection }[] = [];
  let index: OriginIndex;

  beforeAll(async () => {
    const entries = [];
    for (const n of [1, 2, 3] as const) {
      const file = sampleImage(n);
      const img = await decodeImage(file);
      for (const [i, face] of (await detect(img)).entries()) {
        const id = `photo-${n}-${i}`;
        refs.push({ id, file, w: img.width, h: img.height, face });
        const fp = visualFingerprint([{ time: 0, ...faceHash(img, face) }], { still: true });
        entries.push({ referenceId: id, fingerprint: deserializeFingerprint(serializeFingerprint(fp)) });
      }
    }
    index = OriginIndex.build(entries);
  });

  test('the sample photos give at least 9 reference faces', () => {
    expect(refs.length).toBeGreaterThanOrEqual(9);
    expect(index.size.visual).toBe(refs.length);
  });

  test.each(transforms.map((t) => [t.name, t] as const))('%s: the right reference photo in >= 90% of faces, never a wrong one', async (_n, t) => {
    let found = 0;
    let total = 0;
    for (const file of [...new Set(refs.map((r) => r.file))]) {
      const mine = refs.filter((r) => r.file === file);
      const img = await t.make(file, mine[0]!.w, mine[0]!.h);
      const faces = await detect(img);
      for (const r of mine) {
        const face = nearest(faces, t.map([r.face.box.x + r.face.box.w / 2, r.face.box.y + r.face.box.h / 2], r.w, r.h));
        if (!face) continue;
        total++;
        const m = index.lookupFace([{ time: 3, hashes: faceQueryHashes(img, face) }]);
        if (m) {
          expect({ face: r.id, got: m.referenceId }).toEqual({ face: r.id, got: r.id });
          expect(m.referenceOffset).toBe(0);
          expect(m.similarity).toBeGreaterThanOrEqual(FACE_THRESHOLD);
          expect(m.mirrored === true).toBe(t.mirrored === true);
          found++;
        }
      }
    }
    expect(total).toBeGreaterThanOrEqual(refs.length - 1);
    expect(found / total).toBeGreaterThanOrEqual(0.9);
  });

  test('people in the other sample photos are not reuse of these', async () => {
    let looked = 0;
    for (const n of [4, 5, 6] as const) {
      const img = await decodeImage(sampleImage(n));
      for (const face of await detect(img)) {
        looked++;
        expect(index.lookupFace([{ time: 0, hashes: faceQueryHashes(img, face) }])).toBeNull();
      }
    }
    expect(looked).toBeGreaterThanOrEqual(9);
  });
});

describeIf(fs.existsSync(path.join(EVAL, 'identities.csv')), '../shared/eval/faces')('other photos of the same person', () => {
  test('deepface photos: no photo of an identity is taken for reuse of another photo of that identity', async () => {
    // deepface's web photos (13 people, several photos each); the face-api.js set is left out: its photos are tight
    // 150 px face crops with no context around the face (see benchmarks/RESULTS.md).
    const rows = fs.readFileSync(path.join(EVAL, 'identities.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const items: { file: string; id: string; hashes: Uint32Array; entry: FaceHashFrame }[] = [];
    for (const [file, id] of rows) {
      if (!file!.startsWith('deepface/')) continue;
      const img = await decodeImage(path.join(EVAL, file!));
      const face = (await detect(img)).sort((a, b) => b.box.w * b.box.h - a.box.w * a.box.h)[0];
      if (face) items.push({ file: file!, id: id!, hashes: faceQueryHashes(img, face), entry: { time: 0, ...faceHash(img, face) } });
    }
    expect(items.length).toBeGreaterThanOrEqual(40);
    const index = OriginIndex.build(items.map((x) => ({ referenceId: x.file, fingerprint: visualFingerprint([x.entry], { still: true }) })));
    let pairs = 0;
    for (const q of items) {
      const m = index.lookupFace([{ time: 0, hashes: q.hashes }]);
      // Its own photo is the only reuse it may find.
      expect(m?.referenceId).toBe(q.file);
      pairs += items.filter((x) => x.id === q.id && x !== q).length;
    }
    expect(pairs).toBeGreaterThan(100);
  });
});

describeIf(optionalSampleImage(6) !== undefined, 'the face-api sample photos')('clip reuse', () => {
  test('a clip re-encoded at 300 kb/s and half size, cut 5 s in, finds the clip and its offset', async () => {
    // The reference clip: a face moving across a test pattern (so its context changes over time), 12 s.
    const img = await decodeImage(sampleImage(1));
    const face = (await detect(img))[0]!;
    const png = await cutFace(sampleImage(1), face.box, 0.3, 200, path.join(tmp.dir, 'face.png'));
    const clip = composeVideo(path.join(tmp.dir, 'clip.mp4'), [{ image: png, start: 0, end: 12, x: '40+30*t', y: '140+10*sin(t)' }], { width: 640, height: 480, seconds: 12, background: 'testsrc2' });
    const frames: FaceHashFrame[] = [];
    for await (const f of streamVideoFrames(clip, { fps: REFERENCE_VIDEO_FPS })) {
      const d = (await detect(f.image))[0];
      if (d) frames.push({ time: f.time, ...faceHash(f.image, d) });
    }
    expect(frames.length).toBeGreaterThan(40);
    const index = OriginIndex.build([{ referenceId: 'clip', fingerprint: visualFingerprint(frames) }, { referenceId: 'photo', fingerprint: visualFingerprint([{ time: 0, ...faceHash(img, face) }], { still: true }) }]);
    // The ad: 5 s of the clip from 5.0 s, at half size and 300 kb/s, starting 3 s into the ad.
    const ad = path.join(tmp.dir, 'ad.mp4');
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=320x240:r=25:d=3', '-ss', '5', '-t', '5', '-i', clip, '-filter_complex', '[1:v]scale=320:240,setsar=1[c];[0:v][c]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-b:v', '300k', '-pix_fmt', 'yuv420p', ad]);
    const query = [];
    for await (const f of streamVideoFrames(ad, { fps: 2 })) {
      const d = (await detect(f.image))[0];
      if (d) query.push({ time: f.time, hashes: faceQueryHashes(f.image, d) });
    }
    expect(query.length).toBeGreaterThanOrEqual(8);
    const m = index.lookupFace(query);
    expect(m?.referenceId).toBe('clip');
    // The reference time at the segment's first frame: 5 s plus however far into the reuse that frame is.
    expect(Math.abs(m!.referenceOffset - (5 + (query[0]!.time - 3)))).toBeLessThanOrEqual(0.5);
  });
});
