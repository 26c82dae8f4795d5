/**
 * Writes test/fixtures/face/human-mesh-goldens.json: what @vladmandic/human 3.3.6 (BlazeFace + FaceMesh on tfjs-wasm,
 * the settings the accurate preset used) finds on the golden inputs (test/helpers/mesh-goldens.ts): box, five
 * points and score per face, through the Human peer wrapper (benchmarks/human-peer.ts). The test
 * (test/face/mesh.test.ts) checks the ONNX pipeline (src/face/mesh.ts) against these values, so CI needs no tfjs.
 *
 * Usage (devDependencies installed): node -r @swc-node/register scripts/make-mesh-goldens.ts
 */
import * as fs from 'fs';
import { HumanDetector } from '../benchmarks/human-peer';
import { GOLDEN_INPUTS, MESH_GOLDENS, goldenImage } from '../test/helpers/mesh-goldens';

async function main(): Promise<void> {
  const human = new HumanDetector();
  const images = [];
  for (const input of GOLDEN_INPUTS) {
    const img = await goldenImage(input);
    const faces = await human.detect(img);
    images.push({
      name: input.name,
      width: img.width,
      height: img.height,
      faces: faces.map((f) => ({ box: f.box, landmarks: f.landmarks, score: f.score })),
    });
    console.log(`${input.name}: ${img.width}x${img.height}, ${faces.length} faces`);
  }
  const out = {
    generator: 'scripts/make-mesh-goldens.ts',
    reference: '@vladmandic/human 3.3.6 on @tensorflow/tfjs-backend-wasm 4.22 (BlazeFace back + FaceMesh, rotation on, minConfidence 0.3, 20 faces, 1x grey border at <= 200 px)',
    images,
  };
  fs.mkdirSync(require('path').dirname(MESH_GOLDENS), { recursive: true });
  fs.writeFileSync(MESH_GOLDENS, JSON.stringify(out, null, 1) + '\n');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
