import * as fs from 'fs';
import * as path from 'path';
import { loadManifest } from '../models/manifest';
import { PACKAGE_ROOT } from '../paths';
import { list } from '../validate';
import { SCAN_SCHEMA_VERSION, isScanFailure, type ReportModel, type ScanFailure, type ScanReportFile, type ScanResult } from './schema';

let version: string | undefined;

/** Name and version of this package, from its package.json. */
export function toolInfo(): { name: string; version: string } {
  version ??= (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return { name: 'likeness-guard', version };
}

/**
 * The report file for a list of scan results (what `likeness scan --json` writes): the schema version, the tool and
 * its version, and every model the results name (matches and decision rules) with the sha256 of its weights from the
 * model manifest (null for a model without a file, such as the weight-free baseline, or one outside the manifest).
 *
 * @throws LikenessError `E_INPUT` when `results` is not an array.
 * @example
 * fs.writeFileSync('report.json', JSON.stringify(scanReportFile(results), null, 2) + '\n');
 */
export function scanReportFile(results: readonly (ScanResult | ScanFailure)[]): ScanReportFile {
  list<ScanResult | ScanFailure>('results', results);
  const ids = new Set<string>();
  for (const r of results) {
    if (!r || typeof r !== 'object' || isScanFailure(r)) continue;
    for (const m of r.matches ?? []) ids.add(m.modelId);
    for (const d of r.decisionRules ?? []) ids.add(d.modelId);
  }
  const manifest = loadManifest().models;
  const models: ReportModel[] = [...ids].sort().map((id) => {
    const e = manifest.find((m) => m.id === id);
    return { id, sha256: e && typeof e.sha256 === 'string' && /^[0-9a-f]{64}$/.test(e.sha256) ? e.sha256 : null };
  });
  return { schemaVersion: SCAN_SCHEMA_VERSION, tool: toolInfo(), models, results: [...results] };
}
