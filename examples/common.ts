// Shared by the examples: where they write, the example media, and the sample performer's enrollment.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Guard, type EnrollReport } from '../src/guard';
import { buildDemoMedia, type DemoMedia } from './media';

/** Output folder of one example: $EXAMPLE_OUT, else examples-output/NAME (created). */
export function exampleOut(name: string): string {
  const dir = path.resolve(process.env.EXAMPLE_OUT ?? path.join('examples-output', name));
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The example media (examples/media.ts): built into $LIKENESS_EXAMPLE_MEDIA when set (and reused from there when an
 * earlier build is complete, so several examples share one build), else into `outDir`/media.
 */
export function exampleMedia(outDir: string): Promise<DemoMedia> {
  const shared = process.env.LIKENESS_EXAMPLE_MEDIA;
  return buildDemoMedia(shared ? path.resolve(shared) : path.join(outDir, 'media'), { reuse: Boolean(shared) });
}

/**
 * Opens a Guard on `db`. A store the example creates gets a random template key when LIKENESS_KEY is unset (it is
 * thrown away after the run); an existing store is opened with LIKENESS_KEY as usual.
 */
export function openGuard(db: string, opts: { fresh: boolean }): Promise<Guard> {
  if (opts.fresh) for (const ext of ['', '-wal', '-shm']) fs.rmSync(db + ext, { force: true });
  return Guard.open({ db, ...(opts.fresh && !process.env.LIKENESS_KEY ? { key: randomBytes(32) } : {}) });
}

/** Enrolls the sample performer from the example reference photo and voice, with a consent record. */
export async function enrollSamplePerformer(guard: Guard, media: DemoMedia): Promise<EnrollReport> {
  const report = await guard.enroll(
    {
      name: 'Sample Performer',
      consent: { grantedBy: 'Sample Performer', grantedAt: new Date().toISOString(), scope: 'face and voice monitoring (example)', documentRef: 'example-consent.pdf' },
    },
    media.referenceVoice ? [media.referencePhoto, media.referenceVoice] : [media.referencePhoto],
  );
  if (!report.performerId) throw new Error(`no reference was accepted: ${JSON.stringify(report.rejected)}`);
  return report;
}

/** Prints an error the way the CLI does (code: message) and sets exit code 1. */
export function fail(e: unknown): void {
  console.error(e instanceof Error ? `${(e as { code?: string }).code ?? 'error'}: ${e.message}` : String(e));
  process.exitCode = 1;
}
