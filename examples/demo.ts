// Quick-start demo: builds example media (a sample performer's photo and voice, and a 12 s "ad" video in which their
// face and voice appear among other people's), enrolls the performer with a consent record, scans the ad and two
// stills, prints a summary next to the ground truth, and writes demo-output/report.html (+ report.json). Offline.
//
// Media provenance: faces from the MIT-licensed group photos shipped in @vladmandic/face-api (demo/sample*.jpg), speech
// synthesised with espeak-ng, composed with sharp and ffmpeg (examples/media.ts). No licensed source gives several
// photos of one person, so the performer is enrolled from one photo and the ad shows re-framed, smaller and degraded
// versions of it.
//
// usage: npm run demo   (DEMO_OUT=DIR to write elsewhere)
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { formatConfidence, renderHtmlReport, scanReportFile, Guard, isScanFailure, type ScanFailure, type ScanResult } from '../src';
import { buildDemoMedia, formatIntervals } from './media';

const outDir = path.resolve(process.env.DEMO_OUT ?? 'demo-output');

/** Removes a store left by an earlier run (the demo always starts from an empty gallery). */
function freshDb(file: string): string {
  for (const ext of ['', '-wal', '-shm']) fs.rmSync(file + ext, { force: true });
  return file;
}

/** A calibrated confidence, printed as the CLI and the HTML report print it. */
const conf = formatConfidence;

/** One line per match: who, how, where, how sure. */
function summarise(r: ScanResult | ScanFailure): string[] {
  const name = path.basename(r.media.path);
  if (isScanFailure(r)) return [`${name}: could not be scanned (${r.error.code}: ${r.error.message})`];
  if (r.matches.length === 0) return [`${name}: no enrolled performer`];
  const lines = r.matches.map((m) => {
    const where = r.media.kind === 'image' ? 'in the picture' : `at ${m.segments.map((s) => `${s.start.toFixed(1)}–${s.end.toFixed(1)} s`).join(', ')}`;
    return `${name}: ${m.name} — ${m.modality} ${m.decision} ${where} (score ${m.score.toFixed(3)}, confidence ${conf(m.confidence)})`;
  });
  for (const v of r.verdicts.filter((x) => x.overlaps.length > 0)) {
    lines.push(`${name}: ${v.name} — face and voice together ${v.decision} at ${v.overlaps.map((o) => `${o.start.toFixed(1)}–${o.end.toFixed(1)} s`).join(', ')} (fused confidence ${conf(v.confidence)})`);
  }
  return lines;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  fs.mkdirSync(outDir, { recursive: true });
  const media = await buildDemoMedia(path.join(outDir, 'media'));
  console.log(`built example media in ${(media.ms / 1000).toFixed(1)} s: ${path.relative(process.cwd(), media.dir)}/`);

  // Templates are encrypted at rest; the demo's store is thrown away, so a random key is enough.
  const guard = await Guard.open({ db: freshDb(path.join(outDir, 'likeness.db')), key: process.env.LIKENESS_KEY || randomBytes(32) });
  try {
    const enrolled = await guard.enroll(
      {
        name: 'Sample Performer',
        consent: { grantedBy: 'Sample Performer', grantedAt: new Date().toISOString(), scope: 'face and voice monitoring (demo)', documentRef: 'demo-consent.pdf' },
      },
      media.referenceVoice ? [media.referencePhoto, media.referenceVoice] : [media.referencePhoto],
    );
    if (!media.referenceVoice) console.log('note: espeak-ng is not installed, so the example media have no speech and only faces are scanned (apt-get install espeak-ng)');
    for (const r of enrolled.rejected) console.log(`reference rejected: ${JSON.stringify(r)}`);
    if (!enrolled.performerId) throw new Error('enrollment accepted no reference');
    console.log(`enrolled ${enrolled.name} (${enrolled.performerId}) from ${enrolled.accepted.map((a) => `${path.basename(a.file)} [${a.modality}]`).join(' and ')}`);

    const inputs = [media.adVideo, media.matchingImage, media.otherImage];
    const results: (ScanResult | ScanFailure)[] = [];
    for await (const e of guard.scanMany(inputs)) {
      if (e.type === 'progress' && process.stderr.isTTY && e.progress.seconds !== undefined) {
        process.stderr.write(`\rscanning ${path.basename(e.progress.path)}: ${e.progress.seconds.toFixed(1)} s${e.progress.duration ? ` of ${e.progress.duration.toFixed(1)} s` : ''}   `);
      } else if (e.type === 'result') {
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        results[e.index] = e.result;
      }
    }

    console.log('\nfound:');
    for (const r of results) for (const line of summarise(r)) console.log(`  ${line}`);
    console.log('truth (how the ad was made):');
    console.log(`  ad.mp4: ${enrolled.name} on screen ${formatIntervals(media.truth.performerFace)}, speaking ${formatIntervals(media.truth.performerVoice)}; other people on screen ${formatIntervals(media.truth.otherFaces)}, other voices ${formatIntervals(media.truth.otherVoices)}`);
    console.log(`  still-performer.jpg: ${enrolled.name} (re-used photo); still-others.jpg: two people who are not enrolled`);
    const warnings = [...new Set(results.flatMap((r) => (isScanFailure(r) ? [] : r.warnings)))];
    for (const w of warnings) console.log(`note: ${w}`);

    const report = scanReportFile(results);
    fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    // The enrolled references' thumbnails go to the page only (biometric data: not into report.json).
    const referenceThumbnails = await guard.referenceThumbnails(results.flatMap((r) => (isScanFailure(r) ? [] : r.matches.map((m) => m.performerId))));
    fs.writeFileSync(path.join(outDir, 'report.html'), renderHtmlReport({ ...report, referenceThumbnails }, { title: 'likeness-guard demo: sample ad' }));
    const rel = path.relative(process.cwd(), outDir) || '.';
    console.log(`\nwrote ${rel}/report.html (open it in a browser) and ${rel}/report.json in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await guard.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${(e as { code?: string }).code ?? 'error'}: ${e.message}` : e);
  process.exitCode = 1;
});
