import { loadManifest } from '../models/manifest';
import { SCAN_SCHEMA_VERSION, type ScanResult } from './schema';
import { scanReportFile, toolInfo } from './provenance';

test('the report file names schema 2, the tool version and every model used with its manifest sha256', () => {
  const version = (require('../../package.json') as { version: string }).version;
  expect(toolInfo()).toEqual({ name: 'likeness-guard', version });
  const campplus = loadManifest().models.find((m) => m.id === 'campplus-zh-en')!;
  const result = {
    media: { path: 'a.wav', sha256: '0'.repeat(64), kind: 'audio', bytes: 1 },
    matches: [{ performerId: 'p', name: 'P', modality: 'voice', score: 0.7, confidence: 0.9, decision: 'match', segments: [], evidence: { time: 0 }, modelId: 'campplus-zh-en' }],
    verdicts: [],
    timings: {},
    warnings: [],
    galleryVersion: 1,
    scannedAt: '2026-12-02T00:00:00.000Z',
    decisionRules: [{ modality: 'face', modelId: 'not-in-manifest', falseMatchRate: { match: 1e-3, possible: 1e-2 }, thresholds: { match: 0.5, possible: 0.4 }, comparisons: 3 }],
  } as ScanResult;
  const f = scanReportFile([result, { media: { path: 'b' }, error: { code: 'E_DECODE', message: 'x' } }]);
  expect(SCAN_SCHEMA_VERSION).toBe(2);
  expect(f.schemaVersion).toBe(2);
  expect(f.tool?.version).toBe(version);
  expect(f.models).toEqual([
    { id: 'campplus-zh-en', sha256: campplus.sha256 },
    { id: 'not-in-manifest', sha256: null },
  ]);
  expect(f.results).toHaveLength(2);
});
