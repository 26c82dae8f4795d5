import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { FaceApiDetector, faceApiPeer } from '../benchmarks/faceapi';
import { median, readCsvRows, spread } from '../benchmarks/face-data';
import type { RgbImage } from '../src/types';
import { optionalSampleImage } from './helpers/images';
import { describeIf } from './helpers/requires';

// The face-api peer of benchmarks/face.ts and benchmarks/detectors.ts, on a photo shipped in @vladmandic/face-api
// (MIT, demo/sample1.jpg, read from node_modules).

const photo = optionalSampleImage(1);
const describeWithPhoto = describeIf(photo !== undefined, 'the @vladmandic/face-api sample photos');
if (!photo) {
  // eslint-disable-next-line no-console
  console.warn('face-bench-peers.test: @vladmandic/face-api (dev dependency) or its demo photos are not installed; skipping');
}

describe('benchmark helpers', () => {
  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
  it('spread picks evenly and keeps everything when asked for more', () => {
    expect(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5)).toEqual([0, 2, 4, 6, 8]);
    expect(spread([1, 2], 5)).toEqual([1, 2]);
  });
  it('readCsvRows keys rows by header, handles quotes and CRLF', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lg-csv-')), 'a.csv');
    fs.writeFileSync(f, 'file,kind,note\r\na.jpg,x,"a, quoted"\r\nb.jpg,y,\r\n');
    expect(readCsvRows(f)).toEqual([
      { file: 'a.jpg', kind: 'x', note: 'a, quoted' },
      { file: 'b.jpg', kind: 'y', note: '' },
    ]);
  });
});

describeWithPhoto('face-api peer (node-wasm build on tfjs wasm, tensor input)', () => {
  let image: RgbImage;
  beforeAll(async () => {
    const { data, info } = await sharp(photo!).resize(640).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    image = { width: info.width, height: info.height, data: new Uint8Array(data) };
  });

  it('SSD + 68 landmarks + descriptor: faces with ordered five points and unit 128-d descriptors', async () => {
    const peer = await faceApiPeer();
    const before = peer.memory().numTensors;
    const faces = await peer.run(image, 'ssd', true);
    expect(peer.memory().numTensors).toBe(before);
    expect(faces.length).toBeGreaterThanOrEqual(2);
    for (const f of faces) {
      const [le, re, nose, ml, mr] = f.detection.landmarks;
      expect(le[0]).toBeLessThan(re[0]);
      expect(ml[0]).toBeLessThan(mr[0]);
      expect((ml[1] + mr[1]) / 2).toBeGreaterThan((le[1] + re[1]) / 2);
      expect(nose[1]).toBeGreaterThan(Math.min(le[1], re[1]));
      expect(f.descriptor?.length).toBe(128);
      expect(Math.hypot(...Array.from(f.descriptor!))).toBeCloseTo(1, 4);
    }
  });

  it('tiny detector finds faces too, and an empty image is E_INPUT', async () => {
    const det = new FaceApiDetector('tiny');
    expect((await det.detect(image)).length).toBeGreaterThanOrEqual(1);
    await expect(det.detect({ width: 0, height: 0, data: new Uint8Array(0) })).rejects.toMatchObject({ code: 'E_INPUT' });
  });
});
