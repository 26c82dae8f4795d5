// Quick-start demo: enroll a sample performer from one bundled photo, then scan example images for them.
// Offline; media are the MIT-licensed group photos shipped in @vladmandic/face-api (demo/sample*.jpg).
// usage: npm run demo   (writes into ./demo-output/)
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { FaceAnalyzer } from '../src/face/analyzer';
import { decodeImage } from '../src/media/image';
import { openSqliteStore } from '../src/store/sqlite';
import { Registry } from '../src/match/registry';
import { loadCalibrationFile } from '../src/match/calibration';
import { PACKAGE_ROOT } from '../src/models/manifest';
import type { RgbImage } from '../src/types';

const samples = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const outDir = path.resolve(process.env.DEMO_OUT ?? 'demo-output');

/** A re-framed, smaller, recompressed copy of one face region: what an ad reusing the photo might contain. */
async function reframe(img: RgbImage, box: { x: number; y: number; w: number; h: number }, scale: number, quality: number): Promise<Buffer> {
  const pad = box.w * 1.2;
  const left = Math.max(0, Math.round(box.x - pad)), top = Math.max(0, Math.round(box.y - pad));
  const width = Math.min(img.width - left, Math.round(box.w + 2 * pad)), height = Math.min(img.height - top, Math.round(box.h + 2 * pad));
  return sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left, top, width, height })
    .resize({ width: Math.max(32, Math.round(width * scale)) })
    .modulate({ brightness: 0.8 })
    .jpeg({ quality })
    .toBuffer();
}

async function main(): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const dbPath = path.join(outDir, 'likeness.db');
  fs.rmSync(dbPath, { force: true });
  for (const ext of ['-wal', '-shm']) fs.rmSync(dbPath + ext, { force: true });

  const fa = await FaceAnalyzer.create({ preset: 'fast' });
  const store = await openSqliteStore({ path: dbPath });
  const calFile = path.join(PACKAGE_ROOT, 'models', 'calibration', `${fa.modelId}.json`);
  const registry = new Registry(store, { calibration: () => loadCalibrationFile(calFile) });

  // Enroll: the largest face of sample1.jpg, cut out as its own reference photo.
  const group = await decodeImage(path.join(samples, 'sample1.jpg'));
  const groupFaces = await fa.analyzeRgb(group);
  const ref = groupFaces[0]!;
  const refPhoto = await reframe(group, ref.detection.box, 1, 92);
  fs.writeFileSync(path.join(outDir, 'reference.jpg'), refPhoto);
  const refFaces = (await fa.analyze(refPhoto)).faces;
  const performer = await registry.createPerformer({
    name: 'Sample Performer',
    consent: { grantedBy: 'Sample Performer', grantedAt: new Date().toISOString(), scope: 'demo: face monitoring', documentRef: 'demo-consent.pdf' },
  });
  const sha = (b: Buffer) => require('crypto').createHash('sha256').update(b).digest('hex') as string;
  await registry.enroll(performer.id, [
    { sha256: sha(refPhoto), modality: 'face', quality: { score: refFaces[0]!.quality.score }, templates: [{ modelId: fa.modelId, vector: refFaces[0]!.embedding, quality: refFaces[0]!.quality.score }] },
  ]);
  console.log(`enrolled ${performer.name} (${performer.id}) from ${path.join(outDir, 'reference.jpg')}`);

  // Scan: an "ad" made from a smaller, darker, recompressed re-framing of the same photo, plus other people's photos.
  const ad = await reframe(group, ref.detection.box, 0.45, 40);
  fs.writeFileSync(path.join(outDir, 'ad.jpg'), ad);
  const inputs: [string, Buffer | string][] = [['ad.jpg (re-framed copy)', ad], ...[2, 3, 4, 5, 6].map((n) => [`sample${n}.jpg`, path.join(samples, `sample${n}.jpg`)] as [string, string])];
  let matches = 0;
  for (const [label, input] of inputs) {
    const { faces } = await fa.analyze(input);
    const results = faces.length ? await registry.identify(fa.modelId, faces.map((f) => f.embedding), { topK: 1, auditContext: label }) : [];
    const found = results.map((r) => r.candidates[0]).filter((c) => c && c.decision !== 'none');
    matches += found.filter((c) => c!.decision === 'match').length;
    const summary = found.length ? found.map((c) => `${c!.name}: ${c!.decision} (score ${c!.score.toFixed(3)}, confidence ${c!.confidence.toFixed(3)})`).join('; ') : 'no enrolled performer';
    console.log(`${label}: ${faces.length} face(s) -> ${summary}`);
  }
  console.log(`done: ${matches} match(es); store at ${dbPath}`);
  await store.close();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
