// Diagnosis for the issue 16 grid (test/origin/grid.slow.ts): how a reference photo reused in a 640x360 video ad hashes.
// For each grid performer and visual transform, one frame of the ad: the ratio of the detector's face box and of the
// landmarks' RMS radius in the ad to those in the photo (1 = the same pixels; scale-50 is divided by 0.5), and the
// smallest distance (bits of 64) of the ad face's query hashes (faceQueryHashes) to the photo's hash or its mirror,
// the verification distance (bits of 128, faceVerifyDistance from that variant) and how many cases are within
// FACE_MAX_DISTANCE and FACE_VERIFY_MAX_DISTANCE. The photo's hash is the one as detected in the photo (enrollment
// adds more: stillFaceHashes). The ad's face is the one whose embedding is nearest the photo's.
//   node -r @swc-node/register scripts/origin-anchor.ts [DIR]
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FaceAnalyzer } from '../src/face/analyzer';
import { FACE_HASH_WORDS, FACE_QUERY_VARIANTS, FACE_VERIFY_MAX_DISTANCE, canvasQueryHashes, faceHash, faceHashDistance, faceQueryCanvas, faceVerifyDistance } from '../src/face/fingerprint';
import { FACE_MAX_DISTANCE } from '../src/match/origin-index';
import { ffmpegPath } from '../src/media/ffmpeg';
import { decodeImage } from '../src/media/image';
import type { Face } from '../src/types';
import { GRID_FACES, VISUAL_TRANSFORMS, referencePhoto, visualAd } from '../test/helpers/origin-media';

function radius(f: Face): number {
  const L = f.detection.landmarks;
  const cx = L.reduce((s, p) => s + p[0], 0) / L.length, cy = L.reduce((s, p) => s + p[1], 0) / L.length;
  return Math.sqrt(L.reduce((s, p) => s + (p[0] - cx) ** 2 + (p[1] - cy) ** 2, 0) / L.length);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}

async function main(): Promise<void> {
  const d = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lg-anchor-'));
  fs.mkdirSync(d, { recursive: true });
  const fa = await FaceAnalyzer.create();
  const area = (f: Face): number => f.detection.box.w * f.detection.box.h;
  let hits = 0, cases = 0;
  for (let i = 0; i < GRID_FACES.length; i++) {
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
      const f0 = (await fa.analyzeRgb(img)).sort((a, b) => cosine(b.embedding, pf.embedding) - cosine(a.embedding, pf.embedding))[0]!;
      const canvas = faceQueryCanvas(img, f0.detection);
      const q = canvasQueryHashes(canvas);
      let best = 64, at = 0, verify = ph.verify;
      for (let v = 0; v < FACE_QUERY_VARIANTS; v++) {
        const h = q.subarray(v * FACE_HASH_WORDS, (v + 1) * FACE_HASH_WORDS);
        for (const [ref, ver] of [[ph.hash, ph.verify], [ph.mirror, ph.mirrorVerify]] as const) {
          const d = faceHashDistance(h, ref);
          if (d < best) [best, at, verify] = [d, v, ver];
        }
      }
      const vd = faceVerifyDistance(canvas, at, verify);
      const k = t === 'scale-50' ? 0.5 : 1;
      cases++;
      if (best <= FACE_MAX_DISTANCE && vd <= FACE_VERIFY_MAX_DISTANCE) hits++;
      console.log(`performer ${i} ${t.padEnd(9)}: box x${(f0.detection.box.w / pf.detection.box.w / k).toFixed(2)}, landmark radius x${(radius(f0) / radius(pf) / k).toFixed(2)}, distance ${best}, verification ${vd}`);
    }
  }
  console.log(`${hits} of ${cases} within ${FACE_MAX_DISTANCE} bits and ${FACE_VERIFY_MAX_DISTANCE} verification bits (${FACE_QUERY_VARIANTS} query variants, the photo's hash as detected)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
