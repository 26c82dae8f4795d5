import { spawnSync } from 'child_process';
import sharp from 'sharp';
import { ffmpegPath } from '../src/media/ffmpeg';
import { SCAN_SCHEMA_VERSION, type ScanReportFile } from '../src/report/schema';

// Scan report fixtures built from the schema (src/scan/result.ts), independent of the scanner: two performers (one
// with a hostile name), a video with face + voice segments and a fused verdict, an image, a clean file and failures.

/** A name that would run script if it reached the page as markup. */
export const EVIL_NAME = '<img src=x onerror=alert(1)>';
/** Quotes and ampersand, to break attributes if escaping is wrong. */
export const QUOTE_NAME = `"&' Quote <b>Bold</b>`;
/** A file name that would close the cell and inject markup. */
export const EVIL_PATH = `ads/</td><script>alert("p")</script>"'&.mp4`;

/** A small real JPEG (solid colour) as a data URL, like the scanner's face crops. */
export async function jpegDataUrl(rgb: [number, number, number] = [200, 150, 120], size = 48): Promise<string> {
  const buf = await sharp({ create: { width: size, height: size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg({ quality: 80 }).toBuffer();
  return `data:image/jpeg;base64,${buf.toString('base64')}`;
}

/** A real Ogg Opus clip (a 1 s tone, 32 kb/s, made with ffmpeg) as a data URL, like the scanner's voice clips. */
export function oggDataUrl(seconds = 1): string {
  const r = spawnSync(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=300:duration=${seconds}`, '-ac', '1', '-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg', 'pipe:1'], { maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg could not make an Ogg clip: ${r.stderr?.toString()}`);
  return `data:audio/ogg;base64,${r.stdout.toString('base64')}`;
}

/** A report with every part the page shows. Crops: two valid JPEGs plus URLs that must be dropped. */
export async function sampleReport(): Promise<ScanReportFile> {
  const crop1 = await jpegDataUrl([210, 160, 130]);
  const crop2 = await jpegDataUrl([90, 120, 200]);
  const sha = (c: string): string => c.repeat(64);
  return {
    schemaVersion: SCAN_SCHEMA_VERSION,
    tool: { name: 'likeness-guard', version: '9.9.9-test' },
    models: [{ id: 'face-model-x', sha256: sha('e') }, { id: 'voice-model-y', sha256: null }],
    results: [
      {
        media: { path: EVIL_PATH, sha256: sha('a'), kind: 'video', bytes: 3_456_789, duration: 12, width: 1280, height: 720 },
        matches: [
          { performerId: 'p-evil', name: EVIL_NAME, modality: 'face', score: 0.71234, confidence: 0.993, decision: 'match', segments: [{ start: 2, end: 5, box: { x: 100, y: 80, w: 120, h: 150 } }, { start: 8, end: 9.5 }], evidence: { time: 3.5, faceCrop: crop1 }, modelId: 'face-model-x' },
          { performerId: 'p-evil', name: EVIL_NAME, modality: 'voice', score: 0.61, confidence: 0.87, decision: 'match', segments: [{ start: 3, end: 7 }], evidence: { time: 4, voiceClip: oggDataUrl() }, modelId: 'voice-model-y' },
          { performerId: 'p-quote', name: QUOTE_NAME, modality: 'face', score: 0.41, confidence: 0.55, decision: 'possible', segments: [{ start: 6, end: 6 }], evidence: { time: 6, faceCrop: 'javascript:alert(2)' }, modelId: 'face-model-x' },
        ],
        verdicts: [
          { performerId: 'p-evil', name: EVIL_NAME, modalities: ['face', 'voice'], confidence: 0.9999, decision: 'match', overlaps: [{ start: 3, end: 5 }] },
          { performerId: 'p-quote', name: QUOTE_NAME, modalities: ['face'], confidence: 0.55, decision: 'possible', overlaps: [] },
        ],
        timings: { decode: 812.4, faces: 2051, voices: 640, total: 3100 },
        warnings: ['voice model: weight-free baseline <run models pull>'],
        galleryVersion: 7,
        scannedAt: '2026-11-28T01:00:00.000Z',
        performers: [
          { performerId: 'p-evil', name: EVIL_NAME, consent: { status: 'granted', grantedBy: 'Agent <x>', grantedAt: '2026-01-01T00:00:00.000Z', scope: 'face+voice', documentRef: 'DMS-42' } },
          { performerId: 'p-quote', name: QUOTE_NAME, consent: { status: 'not_recorded' } },
        ],
        decisionRules: [
          { modality: 'face', modelId: 'face-model-x', falseMatchRate: { match: 0.001, possible: 0.01 }, thresholds: { match: 0.52, possible: 0.41 }, comparisons: 1234 },
        ],
      },
      {
        media: { path: 'photos/still "one".jpg', sha256: sha('b'), kind: 'image', bytes: 52_000, width: 640, height: 480 },
        matches: [
          { performerId: 'p-quote', name: QUOTE_NAME, modality: 'face', score: 0.66, confidence: 0.97, decision: 'match', segments: [{ start: 0, end: 0, box: { x: 10, y: 20, w: 64, h: 80 } }], evidence: { time: 0, faceCrop: crop2 }, modelId: 'face-model-x' },
          { performerId: 'p-quote', name: QUOTE_NAME, modality: 'face', score: 0.6, confidence: 0.9, decision: 'match', segments: [{ start: 0, end: 0 }], evidence: { time: 0, faceCrop: 'https://example.com/tracker.jpg' }, modelId: 'face-model-x' },
          { performerId: 'p-quote', name: QUOTE_NAME, modality: 'face', score: 0.6, confidence: 0.9, decision: 'match', segments: [{ start: 0, end: 0 }], evidence: { time: 0, faceCrop: 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=' }, modelId: 'face-model-x' },
        ],
        verdicts: [],
        timings: { total: 120 },
        warnings: [],
        galleryVersion: 7,
        scannedAt: '2026-11-28T01:00:01.000Z',
      },
      {
        media: { path: 'clean/nobody.wav', sha256: sha('c'), kind: 'audio', bytes: 64_000, duration: 2 },
        matches: [],
        verdicts: [],
        timings: { total: 50 },
        warnings: [],
        galleryVersion: 7,
        scannedAt: '2026-11-28T01:00:02.000Z',
      },
      { media: { path: 'broken/<bad>.mp4' }, error: { code: 'E_DECODE', message: 'cannot decode "broken/<bad>.mp4": moov atom not found' } },
      { media: { path: 'huge.mov' }, error: { code: 'E_TOO_LARGE', message: 'video longer than the 4 h limit' } },
    ],
  };
}
