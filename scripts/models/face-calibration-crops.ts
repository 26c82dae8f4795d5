/**
 * The embedder inputs that int8 quantisation of faceplugin-mfn512 calibrates on (scripts/models/quantize_embedder.py
 * runs this): every face the `accurate` detector finds in the photos shipped inside npm packages (the 6
 * @vladmandic/face-api demo photos and the 5 @vladmandic/human asset photos, MIT; never ../shared/eval), in the
 * original and in degraded copies made here (small, blurred, dark, grey, low-quality JPEG, tilted), each as the
 * exact NCHW views the pipeline feeds the embedder (aligned crop and mirror; small faces blurred first).
 *
 *   node -r @swc-node/register scripts/models/face-calibration-crops.ts OUT.f32
 * writes OUT.f32 (N x 3 x 112 x 112 float32, little-endian) and OUT.json (sources, faces per variant, sha256).
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { FaceAnalyzer } from '../../src/face/analyzer';
import { embedderInputs } from '../../src/face/faceplugin';
import { decodeImage } from '../../src/media/image';

const ROOT = path.resolve(__dirname, '..', '..');

function photos(): string[] {
  const faceApi = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  const human = path.join(ROOT, 'node_modules', '@vladmandic', 'human', 'assets');
  const list = (dir: string, re: RegExp): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => path.join(dir, f)) : []);
  return [...list(faceApi, /^sample\d+\.jpg$/), ...list(human, /\.jpg$/)];
}

/** Degraded copies (encoded JPEG or PNG bytes) of one photo, by name. */
async function variants(file: string): Promise<Record<string, Buffer>> {
  const meta = await sharp(file).metadata();
  const w = meta.width ?? 0;
  const png = (s: sharp.Sharp): Promise<Buffer> => s.png().toBuffer();
  return {
    original: await png(sharp(file)),
    small: await sharp(file).resize({ width: Math.max(64, Math.round(w * 0.2)) }).jpeg({ quality: 75 }).toBuffer(),
    tiny: await sharp(file).resize({ width: Math.max(48, Math.round(w * 0.1)) }).jpeg({ quality: 75 }).toBuffer(),
    blur: await png(sharp(file).blur(3)),
    dark: await png(sharp(file).linear(0.35, 0)),
    grey: await png(sharp(file).greyscale()),
    jpeg: await sharp(file).jpeg({ quality: 8 }).toBuffer(),
    tilt: await png(sharp(file).rotate(25, { background: '#808080' })),
  };
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: face-calibration-crops.ts OUT.f32');
  const files = photos();
  if (files.length === 0) throw new Error('no sample photos: install the dev dependencies (@vladmandic/face-api, @vladmandic/human)');
  const fa = await FaceAnalyzer.create({ preset: 'accurate' });
  const fd = fs.openSync(out, 'w');
  const hash = createHash('sha256');
  const perVariant: Record<string, number> = {};
  let n = 0;
  for (const file of files) {
    for (const [name, bytes] of Object.entries(await variants(file))) {
      const image = await decodeImage(bytes);
      const faces = await fa.detect(image);
      const { views } = await embedderInputs(image, faces, true);
      for (const v of views.flat()) {
        const buf = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
        fs.writeSync(fd, buf);
        hash.update(buf);
        n++;
      }
      perVariant[name] = (perVariant[name] ?? 0) + faces.length;
    }
  }
  fs.closeSync(fd);
  const index = {
    views: n,
    shape: [n, 3, 112, 112],
    sha256: hash.digest('hex'),
    photos: files.map((f) => path.relative(ROOT, f)),
    facesPerVariant: perVariant,
  };
  fs.writeFileSync(out.replace(/\.f32$/, '') + '.json', JSON.stringify(index, null, 2) + '\n');
  process.stdout.write(JSON.stringify(index) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`face-calibration-crops failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
