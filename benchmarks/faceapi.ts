import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import type * as FaceApi from '@vladmandic/face-api/dist/face-api.node-wasm';
import { LikenessError, toLikenessError } from '../src/errors';
import { padImage } from '../src/face/faceplugin';
import { rgbImage } from '../src/validate';

import type { FaceDetector } from '../src/face/detector';
import type { FaceDetection, FivePoints, Point, RgbImage } from '../src/types';
import { normaliseInPlace } from '../src/kernels/vector';

// @vladmandic/face-api 1.7.15 as a benchmark peer only (a devDependency): its node build needs tfjs-node, which does
// not install offline, so this uses its node-wasm build on @tensorflow/tfjs + the wasm backend, with tensor inputs
// (no canvas).

type FaceApiModule = typeof FaceApi;
type Tf = typeof tfTypes;

/** face-api's bundled typings cover only part of tfjs; the runtime object is the full tfjs-core. */
function tfOf(api: FaceApiModule): Tf {
  return api.tf as unknown as Tf;
}

/** Which face-api detector to run. */
export type FaceApiDetectorKind = 'ssd' | 'tiny';

/** A face found by face-api with its 128-d dlib descriptor (L2-normalised). */
export interface FaceApiFace {
  detection: FaceDetection;
  descriptor?: Float32Array;
}

function packageDir(): string {
  try {
    return path.dirname(require.resolve('@vladmandic/face-api/package.json'));
  } catch (e) {
    throw new LikenessError('E_MODEL', 'the face-api peer needs the dev dependency @vladmandic/face-api: run `npm install`', undefined, {
      cause: e,
    });
  }
}

/** face-api with SSD, tiny detector, 68 landmarks and the recognition net loaded once. Calls run one at a time. */
export class FaceApiPeer {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly api: FaceApiModule) {}

  /** Loads face-api's node-wasm build and its models from the package folder. */
  static async create(): Promise<FaceApiPeer> {
    const dir = packageDir();
    const saved = console.log;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void };
      const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
      // tfjs prints a "install tfjs-node" banner on first import; it is noise in a benchmark's JSON output.
      console.log = () => undefined;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const api = require(path.join(dir, 'dist', 'face-api.node-wasm.js')) as FaceApiModule;
      if (tfOf(api).getBackend() !== 'wasm') {
        try {
          wasm.setWasmPaths(wasmDir);
        } catch {
          // Already initialised by another peer in this process (Human): the paths are set.
        }
        await tfOf(api).setBackend('wasm');
      }
      await tfOf(api).ready();
      const models = path.join(dir, 'model');
      await api.nets.ssdMobilenetv1.loadFromDisk(models);
      await api.nets.tinyFaceDetector.loadFromDisk(models);
      await api.nets.faceLandmark68Net.loadFromDisk(models);
      await api.nets.faceRecognitionNet.loadFromDisk(models);
      return new FaceApiPeer(api);
    } catch (e) {
      throw toLikenessError(e, 'E_MODEL', 'cannot start @vladmandic/face-api on the tfjs wasm backend');
    } finally {
      console.log = saved;
    }
  }

  /** Faces with five points (from the 68 landmarks); with `describe`, also the 128-d descriptor. */
  run(image: RgbImage, kind: FaceApiDetectorKind, describe: boolean): Promise<FaceApiFace[]> {
    const next = this.queue.then(() => this.runNow(image, kind, describe));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** tfjs memory (for leak checks). */
  memory(): { numTensors: number; numBytes: number } {
    const m = tfOf(this.api).memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  private async runNow(image: RgbImage, kind: FaceApiDetectorKind, describe: boolean): Promise<FaceApiFace[]> {
    rgbImage('image', image);
    const api = this.api;
    const input = tfOf(api).tensor3d(image.data, [image.height, image.width, 3], 'int32');
    const options =
      kind === 'ssd'
        ? new api.SsdMobilenetv1Options({ minConfidence: 0.3, maxResults: 20 })
        : new api.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.3 });
    try {
      const withLandmarks = api.detectAllFaces(input as never, options).withFaceLandmarks();
      const results = describe ? await withLandmarks.withFaceDescriptors() : await withLandmarks;
      return results
        .map((r) => ({
          detection: { ...toDetection(r.detection.box, r.detection.score, r.landmarks.positions), source: `faceapi-${kind}-68` },
          descriptor: 'descriptor' in r ? normaliseInPlace(Float32Array.from((r as { descriptor: Float32Array }).descriptor)) : undefined,
        }))
        .sort((a, b) => b.detection.score - a.detection.score);
    } catch (e) {
      throw toLikenessError(e, 'E_MODEL', 'face-api failed');
    } finally {
      tfOf(api).dispose(input);
    }
  }
}

function mean(points: { x: number; y: number }[], from: number, to: number): Point {
  let x = 0;
  let y = 0;
  for (let i = from; i <= to; i++) {
    x += points[i].x;
    y += points[i].y;
  }
  const n = to - from + 1;
  return [x / n, y / n];
}

/** Five ArcFace points from the iBUG 68 layout: eye centres (36-41, 42-47), nose tip 30, mouth corners 48 and 54. */
function toDetection(box: { x: number; y: number; width: number; height: number }, score: number, p: { x: number; y: number }[]): FaceDetection {
  const landmarks: FivePoints = [mean(p, 36, 41), mean(p, 42, 47), [p[30].x, p[30].y], [p[48].x, p[48].y], [p[54].x, p[54].y]];
  return { box: { x: box.x, y: box.y, w: box.width, h: box.height }, landmarks, score };
}

let peer: Promise<FaceApiPeer> | undefined;

/** The process-wide face-api peer, created on first use. */
export function faceApiPeer(): Promise<FaceApiPeer> {
  if (!peer) {
    peer = FaceApiPeer.create();
    peer.catch(() => {
      peer = undefined;
    });
  }
  return peer;
}

/**
 * face-api's SSD MobileNet v1 or tiny detector + 68 landmarks as a FaceDetector. With `padSmall`, images whose side
 * is at most that many pixels get a grey border of 1x their longer side first (as HumanDetector does), so the
 * comparison measures the detectors rather than the padding.
 */
export class FaceApiDetector implements FaceDetector {
  /** Stable id. */
  readonly id: string;

  constructor(
    private readonly kind: FaceApiDetectorKind,
    private readonly padSmall = 0,
  ) {
    this.id = `faceapi-${kind}-68`;
  }

  /** Every face, best score first. */
  async detect(image: RgbImage): Promise<FaceDetection[]> {
    rgbImage('image', image);
    const p = await faceApiPeer();
    if (this.padSmall <= 0 || (image.width > this.padSmall && image.height > this.padSmall)) {
      return (await p.run(image, this.kind, false)).map((f) => f.detection);
    }
    const b = Math.max(image.width, image.height);
    const found = await p.run(padImage(image, b, b), this.kind, false);
    const shift = (q: Point): Point => [q[0] - b, q[1] - b];
    return found.map(({ detection: d }) => ({
      ...d,
      box: { ...d.box, x: d.box.x - b, y: d.box.y - b },
      landmarks: d.landmarks.map(shift) as FivePoints,
    }));
  }
}
