// Scan every file under a folder (recursively) with bounded concurrency, as results arrive; write one JSON line per
// file and an HTML evidence report.
//
// usage: node -r @swc-node/register examples/batch-scan-a-folder.ts [FOLDER] [--db FILE] [--concurrency N]
// Without FOLDER it makes an "inbox" from the example media (two stills, two voice clips, a broken file in a subfolder),
// enrolls the sample performer into a fresh store, and scans that. Files that cannot be scanned are reported with
// their error code and the others go on.
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { renderHtmlReport } from '../src/report/html';
import { SCAN_SCHEMA_VERSION, isScanFailure, type ScanFailure, type ScanResult } from '../src/report/schema';
import { enrollSamplePerformer, exampleMedia, exampleOut, fail, openGuard } from './common';

/** Every regular file under `dir`, sorted (hidden files skipped). */
function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((rel) => !rel.split(path.sep).some((part) => part.startsWith('.')))
    .map((rel) => path.join(dir, rel))
    .filter((f) => fs.statSync(f).isFile())
    .sort();
}

/** A folder to scan made from the example media. */
async function makeInbox(out: string): Promise<string> {
  const media = await exampleMedia(out);
  const inbox = path.join(out, 'inbox');
  fs.rmSync(inbox, { recursive: true, force: true });
  fs.mkdirSync(path.join(inbox, 'uploads', 'day2'), { recursive: true });
  fs.copyFileSync(media.matchingImage, path.join(inbox, 'uploads', 'poster.jpg'));
  fs.copyFileSync(media.otherImage, path.join(inbox, 'uploads', 'day2', 'group.jpg'));
  // A voice-over of the performer saying something else (the enrollment recording's voice, new words).
  if (media.referenceVoice) {
    fs.copyFileSync(path.join(media.dir, 'parts', 'line1.wav'), path.join(inbox, 'voiceover.wav'));
    // Another (not enrolled) voice.
    fs.copyFileSync(path.join(media.dir, 'parts', 'line2.wav'), path.join(inbox, 'radio-spot.wav'));
  }
  // Named like a video, but not one: the scan reports it and goes on.
  fs.writeFileSync(path.join(inbox, 'uploads', 'day2', 'broken.mp4'), 'this is not a video');
  return inbox;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { db: { type: 'string' }, concurrency: { type: 'string' } } });
  const out = exampleOut('batch-scan-a-folder');
  const guard = await openGuard(values.db ?? path.join(out, 'likeness.db'), { fresh: values.db === undefined });
  try {
    let folder = positionals[0];
    if (!folder) {
      folder = await makeInbox(out);
      const r = await enrollSamplePerformer(guard, await exampleMedia(out));
      console.log(`enrolled ${r.name} (${r.performerId})`);
    }
    const files = listFiles(folder);
    console.log(`scanning ${files.length} files under ${folder}`);

    const results: (ScanResult | ScanFailure)[] = new Array(files.length);
    const jsonl = fs.createWriteStream(path.join(out, 'results.jsonl'));
    const concurrency = Number(values.concurrency ?? 2);
    for await (const e of guard.scanMany(files, { concurrency })) {
      if (e.type !== 'result') continue; // progress events drive a progress bar in the CLI
      results[e.index] = e.result;
      jsonl.write(`${JSON.stringify(e.result)}\n`);
      const rel = path.relative(folder, e.path);
      const r = e.result;
      const what = isScanFailure(r)
        ? `FAILED ${r.error.code}`
        : r.matches.length
          ? r.matches.map((m) => `${m.decision.toUpperCase()} ${m.name} (${m.modality}, confidence ${m.confidence.toFixed(3)})`).join('; ')
          : 'clean';
      console.log(`[${e.done}/${e.total}] ${rel}: ${what}`);
    }
    await new Promise<void>((resolve) => jsonl.end(resolve));

    const failed = results.filter(isScanFailure).length;
    const matched = results.filter((r) => !isScanFailure(r) && r.matches.some((m) => m.decision === 'match')).length;
    const report = path.join(out, 'report.html');
    fs.writeFileSync(report, renderHtmlReport({ schemaVersion: SCAN_SCHEMA_VERSION, results }, { title: `Scan of ${folder}` }));
    console.log(`done: ${files.length} files, ${matched} with a match, ${failed} could not be scanned; ${path.join(out, 'results.jsonl')}, ${report}`);
  } finally {
    await guard.close();
  }
}

main().catch(fail);
