// Project-made media for the queue tests and bench:scale: one reference photo of performer A and N distinct scan
// images (crops of the shipped sample photo around A's face at shifted offsets, sizes and brightness).
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { sampleImage } from './images';

/** Writes `ref-a.jpg` and `scan-000.jpg`... into `dir`; returns their paths. */
export async function makeScanMedia(dir: string, n: number): Promise<{ reference: string; images: string[] }> {
  fs.mkdirSync(dir, { recursive: true });
  const reference = path.join(dir, 'ref-a.jpg');
  await sharp(sampleImage(1)).extract({ left: 1300, top: 50, width: 560, height: 560 }).jpeg({ quality: 90 }).toFile(reference);
  const images: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `scan-${String(i).padStart(3, '0')}.jpg`);
    const size = 420 + (i % 9) * 15;
    await sharp(sampleImage(1))
      .extract({ left: 1330 + (i % 7) * 8, top: 70 + (i % 5) * 8, width: size, height: size })
      .resize(256, 256)
      .modulate({ brightness: 0.85 + (i % 11) * 0.03 })
      .jpeg({ quality: 80 + (i % 10) })
      .toFile(f);
    images.push(f);
  }
  return { reference, images };
}
