// Enroll a performer with consent, then scan media for them: the library calls a pipeline makes.
//
// usage: node -r @swc-node/register examples/enroll-and-scan.ts [--db FILE] [--name NAME --ref FILE... --consent-by WHO] [MEDIA...]
// Without arguments it enrolls the sample performer from the example media (examples/media.ts) into a fresh store and
// scans the example ad video. Prints one line per match and the full result (face crops shortened) as JSON.
import * as path from 'path';
import { parseArgs } from 'util';
import { isScanFailure } from '../src/report/schema';
import { enrollSamplePerformer, exampleMedia, exampleOut, fail, openGuard } from './common';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { db: { type: 'string' }, name: { type: 'string' }, ref: { type: 'string', multiple: true }, 'consent-by': { type: 'string' } },
  });
  const out = exampleOut('enroll-and-scan');
  const guard = await openGuard(values.db ?? path.join(out, 'likeness.db'), { fresh: values.db === undefined });
  try {
    // 1. Enroll: references go through the enrollment gate (one clear face / enough speech of one speaker).
    let inputs = positionals;
    if (values.name && values.ref?.length) {
      if (!values['consent-by']) throw new Error('--consent-by WHO is required: enrollment needs a consent record');
      const r = await guard.enroll({ name: values.name, consent: { grantedBy: values['consent-by'], grantedAt: new Date().toISOString(), scope: 'monitoring' } }, values.ref);
      console.log(`enrolled ${r.name}: ${r.accepted.length} reference(s) accepted, ${r.rejected.length} rejected`);
    } else {
      const media = await exampleMedia(out);
      const r = await enrollSamplePerformer(guard, media);
      console.log(`enrolled ${r.name} (${r.performerId}) from ${r.accepted.map((a) => `${path.basename(a.file)} [${a.modality}]`).join(', ')}`);
      if (inputs.length === 0) inputs = [media.adVideo];
    }

    // 2. Scan: one call per input; a file that cannot be scanned gives an error entry, not an exception.
    for (const input of inputs) {
      const result = await guard.scan(input, { fps: 2 });
      if (isScanFailure(result)) {
        console.log(`${input}: could not be scanned: ${result.error.code} ${result.error.message}`);
        continue;
      }
      const found = result.matches.filter((m) => m.decision === 'match');
      console.log(`${path.basename(input)}: ${found.length ? 'MATCH' : 'no match'} (${result.media.kind}, ${result.media.duration ?? 0} s, ${Math.round(result.timings.total ?? 0)} ms)`);
      for (const m of result.matches) {
        console.log(`  ${m.name} ${m.modality} ${m.decision} confidence=${m.confidence.toFixed(4)} segments=${m.segments.map((s) => `${s.start}-${s.end}`).join(',')}`);
      }
      console.log(JSON.stringify(result, (k, v: unknown) => (k === 'faceCrop' && typeof v === 'string' ? `${v.slice(0, 40)}...` : v), 2));
    }
  } finally {
    await guard.close();
  }
}

main().catch(fail);
