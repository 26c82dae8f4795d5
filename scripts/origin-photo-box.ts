// Diagnosis for the issue 16 grid (test/origin/grid.slow.ts): why a reference photo reused unchanged in a 640x360
// video ad is not found as reuse. For grid performers 0 and 3, each visual transform: the detector's face box in the
// 320x320 reference photo, the box of the same face in a frame of the ad, and the face-hash distance to the photo's
// hash (or its mirror) when the ad's box is scaled by k around its centre (k = 1 is what the scan hashes).
//   node -r @swc-node/register scripts/origin-photo-box.ts [DIR]
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FaceAnalyzer } from '../src/face/analyzer';
import { faceHash, faceHashDistance } from '../src/face/fingerprint';
import { ffmpegPath } from '../src/media/ffmpeg';
import { decodeImage } from '../src/media/image';
import type { Face } from '../src/types';
import { GRID_FACES, VISUAL_TRANSFORMS, referencePhoto, visualAd } from '../test/helpers/origin-media';

async function main(): Promise<void> {
  const d = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lg-photo-box-'));
  fs.mkdirSync(d, { recursive: true });
  const fa = await FaceAnalyzer.create();
  const area = (f: Face): number => f.detection.box.w * f.detection.box.h;
  for (const i of (process.env.PERFORMERS ?? '0,3').split(',').map(Number)) {
    const photo = await referencePhoto(GRID_FACES[i]!, path.join(d, `p${i}.jpg`));
    const pimg = await decodeImage(photo);
    // The enrolled face (enrollment takes the largest).
    const pf = (await fa.analyzeRgb(pimg)).sort((a, b) => area(b) - area(a))[0]!;
    const ph = faceHash(pimg, pf.detection);
    for (const t of VISUAL_TRANSFORMS) {
      const ad = path.join(d, `ad-${i}-${t}.mp4`);
      const png = `${ad}.png`;
      await visualAd({ photo }, t, 3, 4, ad);
      execFileSync(ffmpegPath(), ['-v', 'error', '-y', '-ss', '4.5', '-i', ad, '-frames:v', '1', png]);
      const img = await decodeImage(png);
      // The reused face: the one nearest the frame's centre (the photo is centred).
      const dx = (f: Face): number => Math.abs(f.detection.box.x + f.detection.box.w / 2 - img.width / 2);
      const f0 = (await fa.analyzeRgb(img)).sort((a, b) => dx(a) - dx(b))[0]!;
      const b = f0.detection.box;
      const rows: string[] = [];
      for (const k of [1.3, 1.15, 1, 0.85, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5]) {
        const box = { x: b.x + (b.w * (1 - k)) / 2, y: b.y + (b.h * (1 - k)) / 2, w: b.w * k, h: b.h * k };
        const h = faceHash(img, { ...f0.detection, box });
        rows.push(`${k}:${Math.min(faceHashDistance(h.hash, ph.hash), faceHashDistance(h.hash, ph.mirror))}`);
      }
      const expected = t === 'scale-50' ? 0.5 : 1;
      console.log(`performer ${i} ${t}: photo box ${pf.detection.box.w.toFixed(0)} px (x${expected} in the ad: ${(pf.detection.box.w * expected).toFixed(0)}), ad box ${b.w.toFixed(0)} px; distance with the ad box scaled by ${rows.join(' ')}`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
