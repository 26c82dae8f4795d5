import * as path from 'path';
import { defaultStoreLocation } from '../guard';
import { JOB_STATES, JobQueue } from '../jobs/queue';
import { runWorker, type WorkerEvent } from '../jobs/worker';
import { resolveLimits } from '../media/limits';
import { int, invalid, num, oneOf } from '../validate';
import { LIMIT_OPTIONS, LIMIT_USAGE, limitsFrom, parseCommandArgs } from './args';
import type { CommandHandler } from './command';
import { expandInputs } from './commands-scan';

const QUEUE_FLAGS = '[--lease-s N] [--retries N] [--retry-delay-s N]';
const SUBMIT_USAGE = `likeness submit INPUT... [--wait] [--db URL] ${QUEUE_FLAGS}  (folders and globs expand to one job per file; prints one job id per line)`;
const WORKER_USAGE = `likeness worker [--concurrency N] [--batch N] [--fps N] [--preset accurate|fast] [--db URL] [--maintenance-s N] ${QUEUE_FLAGS} ${LIMIT_USAGE}`;
const JOBS_USAGE = `likeness jobs [--status ${JOB_STATES.join('|')}] [--db URL]`;
const RESULTS_USAGE = 'likeness results [--since ISO-8601] [--jsonl] [--db URL] [JOBID]';

const COMMON = { db: { type: 'string' as const }, help: { type: 'boolean' as const, short: 'h' } };
const QUEUE = { 'lease-s': { type: 'string' as const }, retries: { type: 'string' as const }, 'retry-delay-s': { type: 'string' as const } };

function dbOf(values: { db?: string | undefined }): string {
  return values.db ?? defaultStoreLocation();
}

function queueOptions(values: Record<string, unknown>): { leaseSeconds?: number; retryLimit?: number; retryDelaySeconds?: number } {
  const n = (flag: string, min: number, max: number): number | undefined =>
    typeof values[flag] === 'string' ? int(`--${flag}`, Number(values[flag]), min, max) : undefined;
  const lease = n('lease-s', 1, 86_400);
  const retries = n('retries', 0, 100);
  const delay = n('retry-delay-s', 0, 3600);
  return { ...(lease !== undefined ? { leaseSeconds: lease } : {}), ...(retries !== undefined ? { retryLimit: retries } : {}), ...(delay !== undefined ? { retryDelaySeconds: delay } : {}) };
}

const submit: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, { ...COMMON, ...QUEUE, wait: { type: 'boolean' } }, SUBMIT_USAGE);
  if (values.help) return (io.out(`usage: ${SUBMIT_USAGE}\n`), 0);
  if (positionals.length === 0) throw invalid(`no input given\nusage: ${SUBMIT_USAGE}`);
  const { files, unmatched, problems } = expandInputs(positionals, resolveLimits({}).maxFiles);
  for (const u of unmatched) io.err(`likeness submit: ${u} matched no file\n`);
  for (const p of problems) io.err(`likeness submit: ${p.media.path}: ${p.error.code}: ${p.error.message}\n`);
  if (files.length === 0) throw invalid('no file to submit');
  const queue = await JobQueue.open(dbOf(values), { ...queueOptions(values), supervise: false });
  try {
    const ids = await queue.submit(files.map((f) => path.resolve(f)));
    for (const id of ids) io.out(`${id}\n`);
    io.err(`likeness submit: ${ids.length} jobs queued\n`);
    if (values.wait) {
      const r = await queue.wait(ids);
      io.err(`likeness submit: ${r.results} results stored, ${r.failed} jobs failed for good\n`);
      if (r.failed > 0) return 2;
    }
    return unmatched.length + problems.length > 0 ? 2 : 0;
  } finally {
    await queue.close();
  }
};

const worker: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(
    args,
    { ...COMMON, ...QUEUE, ...LIMIT_OPTIONS, concurrency: { type: 'string' }, batch: { type: 'string' }, fps: { type: 'string' }, preset: { type: 'string' }, 'maintenance-s': { type: 'string' }, quiet: { type: 'boolean' } },
    WORKER_USAGE,
  );
  if (values.help) return (io.out(`usage: ${WORKER_USAGE}\n`), 0);
  const concurrency = values.concurrency !== undefined ? int('--concurrency', Number(values.concurrency), 1, 64) : 1;
  const batch = values.batch !== undefined ? int('--batch', Number(values.batch), 1, 100) : 1;
  const fps = values.fps !== undefined ? num('--fps', Number(values.fps), 0.01, 60) : undefined;
  const preset = values.preset !== undefined ? oneOf('--preset', values.preset, ['accurate', 'fast'] as const) : undefined;
  const maintenance = values['maintenance-s'] !== undefined ? int('--maintenance-s', Number(values['maintenance-s']), 1, 3600) : undefined;
  const limits = limitsFrom(values);
  const stop = new AbortController();
  // SIGTERM / SIGINT: take no new job, finish and store the current ones, then exit.
  const onSignal = (): void => {
    if (!stop.signal.aborted) io.err('likeness worker: stopping after the current jobs\n');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const onEvent = (e: WorkerEvent): void => {
    if (e.type === 'ready') io.err(`likeness worker ${e.worker}: ready (concurrency ${e.concurrency})\n`);
    else if (values.quiet || e.type === 'start') return;
    else if (e.type === 'retry') io.err(`${e.path}: job ${e.jobId} failed (${e.code}: ${e.message}); it will be retried\n`);
    else io.err(`${e.path}: job ${e.jobId} ${e.type === 'stored' ? 'stored' : 'already stored'}${e.error ? ` (${e.error})` : ''} in ${e.ms.toFixed(2)} ms\n`);
  };
  try {
    const s = await runWorker({
      db: dbOf(values),
      concurrency,
      batchSize: batch,
      ...queueOptions(values),
      ...(maintenance !== undefined ? { maintenanceSeconds: maintenance } : {}),
      guard: { ...(Object.keys(limits).length ? { limits } : {}), ...(preset ? { facePreset: preset } : {}) },
      ...(fps !== undefined ? { scan: { fps } } : {}),
      signal: stop.signal,
      onEvent,
    });
    io.err(`likeness worker: stopped; ${s.stored} results stored, ${s.duplicates} duplicate runs, ${s.retried} runs failed and left to retry\n`);
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
};

const jobs: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(args, { ...COMMON, status: { type: 'string' } }, JOBS_USAGE);
  if (values.help) return (io.out(`usage: ${JOBS_USAGE}\n`), 0);
  const status = values.status !== undefined ? oneOf('--status', values.status, JOB_STATES) : undefined;
  const queue = await JobQueue.open(dbOf(values), { supervise: false });
  try {
    for (const j of await queue.jobs(status ? { status } : {})) io.out(JSON.stringify(j) + '\n');
    return 0;
  } finally {
    await queue.close();
  }
};

const results: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, { ...COMMON, since: { type: 'string' }, jsonl: { type: 'boolean' } }, RESULTS_USAGE);
  if (values.help) return (io.out(`usage: ${RESULTS_USAGE}\n`), 0);
  if (positionals.length > 1) throw invalid(`one job id at most\nusage: ${RESULTS_USAGE}`);
  let since: string | undefined;
  if (values.since !== undefined) {
    const t = Date.parse(values.since);
    if (Number.isNaN(t)) throw invalid(`--since must be an ISO-8601 date, got ${values.since}`);
    since = new Date(t).toISOString();
  }
  const queue = await JobQueue.open(dbOf(values), { supervise: false });
  try {
    const rows = await queue.storedResults({ ...(positionals[0] ? { jobId: positionals[0] } : {}), ...(since ? { since } : {}) });
    if (values.jsonl) for (const r of rows) io.out(r.result + '\n');
    else io.out(`[${rows.map((r) => r.result).join(',\n')}]\n`);
    return 0;
  } finally {
    await queue.close();
  }
};

/** `likeness submit`, `worker`, `jobs`, `results`: the PostgreSQL scan queue. */
export const jobCommands: Record<string, CommandHandler> = { submit, worker, jobs, results };
