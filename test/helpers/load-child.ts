import { Guard } from '../../src/guard';
import { isLikenessError } from '../../src/errors';
import { isScanFailure } from '../../src/report/schema';

// One process of the SQLite load test (test/helpers/load-runner.ts): `scan` loops over a few media files until the
// deadline; `enroll` creates performers and deletes some of them. Each prints one JSON line of what it did at the end.
// argv: mode db seconds warmupSeconds file... Each process runs `seconds` from the end of its first operation (model
// loading on a loaded machine is not part of the bounded time); its warm-up RSS is taken `warmupSeconds` after that.

interface Report {
  mode: string;
  pid: number;
  ops: number;
  errors: { code: string; message: string }[];
  busy: number;
  rssAfterWarmupMB: number;
  rssEndMB: number;
  created: string[];
  deleted: string[];
}

const BUSY = /SQLITE_BUSY|SQLITE_LOCKED|database is locked/i;

async function main(): Promise<void> {
  const [mode, db, secondsArg, warmupArg, ...files] = process.argv.slice(2);
  const runMs = Number(secondsArg) * 1000;
  const warmupMs = Number(warmupArg) * 1000;
  let ready = 0;
  let deadline = Infinity;
  const rep: Report = { mode: mode!, pid: process.pid, ops: 0, errors: [], busy: 0, rssAfterWarmupMB: 0, rssEndMB: 0, created: [], deleted: [] };
  const note = (e: unknown): void => {
    const code = isLikenessError(e) ? e.code : 'CRASH';
    const message = e instanceof Error ? e.message : String(e);
    if (BUSY.test(message)) rep.busy++;
    if (rep.errors.length < 20) rep.errors.push({ code, message });
  };
  const guard = await Guard.open({ db: db!, facePreset: 'fast' });
  let warm = false;
  let n = 0;
  while (Date.now() < deadline) {
    try {
      if (mode === 'scan') {
        const r = await guard.scan(files[n % files.length]!);
        if (isScanFailure(r)) note(Object.assign(new Error(r.error.message), { name: 'LikenessError', code: r.error.code }));
      } else {
        const r = await guard.enroll({ name: `load ${process.pid} ${n}`, noConsent: true }, [files[n % files.length]!]);
        if (!r.performerId) throw new Error(`enrollment accepted nothing: ${JSON.stringify(r.rejected)}`);
        rep.created.push(r.performerId);
        // Delete every other performer created, oldest first: deletes run while the scanners read.
        if (n % 2 === 1) {
          const id = rep.created[rep.deleted.length]!;
          if (await guard.deletePerformer(id)) rep.deleted.push(id);
        }
      }
      rep.ops++;
    } catch (e) {
      note(e);
    }
    n++;
    if (ready === 0) {
      ready = Date.now();
      deadline = ready + runMs;
    }
    if (!warm && Date.now() - ready >= warmupMs && rep.ops >= 2) {
      warm = true;
      global.gc?.();
      rep.rssAfterWarmupMB = process.memoryUsage().rss / 2 ** 20;
    }
  }
  global.gc?.();
  rep.rssEndMB = process.memoryUsage().rss / 2 ** 20;
  if (!warm) rep.rssAfterWarmupMB = NaN;
  await guard.close();
  process.stdout.write(JSON.stringify(rep) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: e instanceof Error ? e.stack : String(e) }) + '\n');
  process.exit(1);
});
