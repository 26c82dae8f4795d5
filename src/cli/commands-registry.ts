import * as fs from 'fs';
import { LikenessError, internalError, isLikenessError } from '../errors';
import { Guard, GuardOptions, defaultStoreLocation, type EnrollReport } from '../guard';
import type { Consent } from '../store/types';
import { int, num, oneOf, invalid } from '../validate';
import { FROM_OPTION, FROM_USAGE, LIMIT_OPTIONS, LIMIT_USAGE, inputsWithLists, limitsFrom, parseCommandArgs, required } from './args';
import { CommandHandler, CommandIO, printJson } from './command';

const DB = { db: { type: 'string' as const }, preset: { type: 'string' as const }, model: { type: 'string' as const }, help: { type: 'boolean' as const, short: 'h' } };

function guardOptions(values: { db?: string; preset?: string; model?: string } & Record<string, unknown>): GuardOptions {
  const limits = limitsFrom(values);
  return {
    db: values.db ?? defaultStoreLocation(),
    ...(values.model ? { voiceModel: values.model } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
    ...(values.preset ? { facePreset: oneOf('--preset', values.preset, ['accurate', 'fast'] as const) } : {}),
  };
}

async function withGuard<T>(values: { db?: string; preset?: string; model?: string } & Record<string, unknown>, fn: (g: Guard) => Promise<T>): Promise<T> {
  const g = await Guard.open(guardOptions(values));
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

const ENROLL_USAGE =
  `likeness enroll (--name NAME | --id ID) [--largest] (--consent-by WHO [--consent-scope S] [--consent-expires DATE] [--consent-doc REF] | --consent-file FILE.json | --no-consent) [--alias A]... [--preset accurate|fast] [--model VOICE_MODEL] [--db PATH] ${LIMIT_USAGE} FILE... ${FROM_USAGE}`;

function consentFrom(v: Record<string, string | boolean | string[] | undefined>): Consent | undefined {
  if (typeof v['consent-file'] === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(v['consent-file'], 'utf8'));
    } catch (e) {
      throw invalid(`cannot read consent file ${v['consent-file']}: ${(e as Error).message}`);
    }
    const c = parsed as Partial<Consent>;
    if (!c || typeof c.grantedBy !== 'string') throw invalid('consent file needs at least "grantedBy" (and "scope", "grantedAt", "expiresAt", "documentRef")');
    return { grantedBy: c.grantedBy, grantedAt: c.grantedAt ?? new Date().toISOString(), scope: c.scope ?? 'likeness monitoring', ...(c.expiresAt ? { expiresAt: c.expiresAt } : {}), ...(c.documentRef ? { documentRef: c.documentRef } : {}) };
  }
  if (typeof v['consent-by'] === 'string') {
    const expires = v['consent-expires'];
    if (typeof expires === 'string' && Number.isNaN(Date.parse(expires))) throw invalid(`--consent-expires must be a date (YYYY-MM-DD), got ${expires}`);
    return {
      grantedBy: v['consent-by'],
      grantedAt: new Date().toISOString(),
      scope: typeof v['consent-scope'] === 'string' ? v['consent-scope'] : 'likeness monitoring',
      ...(typeof expires === 'string' ? { expiresAt: new Date(expires).toISOString() } : {}),
      ...(typeof v['consent-doc'] === 'string' ? { documentRef: v['consent-doc'] } : {}),
    };
  }
  return undefined;
}

const enroll: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, {
    ...DB,
    name: { type: 'string' }, id: { type: 'string' }, largest: { type: 'boolean' }, alias: { type: 'string', multiple: true },
    'consent-by': { type: 'string' }, 'consent-scope': { type: 'string' }, 'consent-expires': { type: 'string' }, 'consent-doc': { type: 'string' },
    'consent-file': { type: 'string' }, 'no-consent': { type: 'boolean' }, ...LIMIT_OPTIONS, ...FROM_OPTION,
  }, ENROLL_USAGE);
  if (values.help) return usage(io, ENROLL_USAGE);
  if (!values.name === !values.id) throw invalid(`give exactly one of --name (new performer) or --id (existing)\nusage: ${ENROLL_USAGE}`);
  const files = inputsWithLists(positionals, values.from);
  if (files.length === 0) throw invalid(`no reference file given\nusage: ${ENROLL_USAGE}`);
  const consent = consentFrom(values);
  if (values.name && !consent && !values['no-consent']) {
    throw new LikenessError('E_CONSENT', `enrollment needs a consent record (--consent-by WHO or --consent-file) or an explicit --no-consent\nusage: ${ENROLL_USAGE}`);
  }
  const target = values.id
    ? { id: values.id }
    : { name: values.name!, ...(values.alias ? { aliases: values.alias } : {}), ...(consent ? { consent } : { noConsent: true }) };
  const report = await withGuard(values, (g) => g.enroll(target, files, { largest: values.largest ?? false }));
  printJson(io, report);
  printEnrollNotes(io, report);
  return report.rejected.length ? 2 : 0;
};

/** The human side of an enrollment report on stderr: notes (a video's voice skipped and why), duplicates, rejections. */
function printEnrollNotes(io: CommandIO, report: EnrollReport): void {
  for (const n of report.notes) io.err(`likeness: note: ${n.file}: ${n.note}\n`);
  for (const f of new Set(report.accepted.filter((a) => a.duplicate).map((a) => a.file))) io.err(`likeness: note: ${f}: already enrolled for this performer (duplicate, not stored again)\n`);
  for (const r of report.rejected) io.err(`likeness: rejected: ${r.file}: ${r.code}: ${r.reason}\n`);
}

const ADD_REF_USAGE = `likeness performers add-reference ID [--largest] [--preset accurate|fast] [--model VOICE_MODEL] [--db PATH] ${LIMIT_USAGE} FILE... ${FROM_USAGE}  (photos, recordings or videos)`;

const addReference: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, { ...DB, largest: { type: 'boolean' }, ...LIMIT_OPTIONS, ...FROM_OPTION }, ADD_REF_USAGE);
  if (values.help) return usage(io, ADD_REF_USAGE);
  const [id, ...rest] = positionals;
  if (!id) throw invalid(`performers add-reference needs the performer ID and reference files\nusage: ${ADD_REF_USAGE}`);
  const performerId = id;
  const files = inputsWithLists(rest, values.from);
  if (files.length === 0) throw invalid(`no reference file given\nusage: ${ADD_REF_USAGE}`);
  const report = await withGuard(values, (g) => g.addReferences(performerId, files, { largest: values.largest ?? false }));
  printJson(io, report);
  printEnrollNotes(io, report);
  return report.rejected.length ? 2 : 0;
};

const PERF_USAGE = 'likeness performers list | show ID | delete ID | export ID [--vectors] | consent ID --withdraw [--delete] | add-reference ID FILE... [--db PATH]';

const performers: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, {
    ...DB, vectors: { type: 'boolean' }, withdraw: { type: 'boolean' }, delete: { type: 'boolean' },
  }, PERF_USAGE);
  if (values.help) return usage(io, PERF_USAGE);
  const [verb, id] = positionals;
  const needId = (): string => required(id, 'ID', PERF_USAGE);
  return withGuard(values, async (g) => {
    switch (verb) {
      case 'list':
        printJson(io, { performers: await g.listPerformers() });
        return 0;
      case 'show':
        printJson(io, await g.performer(needId()));
        return 0;
      case 'delete': {
        const deleted = await g.deletePerformer(needId());
        printJson(io, { performerId: id, deleted });
        return deleted ? 0 : 1;
      }
      case 'export':
        printJson(io, await g.exportPerformer(needId(), { includeVectors: values.vectors ?? false }));
        return 0;
      case 'consent': {
        if (!values.withdraw) throw invalid(`consent needs --withdraw\nusage: ${PERF_USAGE}`);
        printJson(io, { performerId: id, ...(await g.withdrawConsent(needId(), { delete: values.delete ?? false })) });
        return 0;
      }
      default:
        throw invalid(`unknown performers command "${verb ?? ''}"\nusage: ${PERF_USAGE}`);
    }
  });
};

const REKEY_USAGE = 'LIKENESS_KEY=<current> LIKENESS_NEW_KEY=<new> likeness rekey [--db PATH]  (without LIKENESS_NEW_KEY: encrypts plaintext templates under LIKENESS_KEY)';

const rekey: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(args, { ...DB }, REKEY_USAGE);
  if (values.help) return usage(io, REKEY_USAGE);
  const current = process.env.LIKENESS_KEY || undefined;
  const next = process.env.LIKENESS_NEW_KEY || current;
  if (!next) throw new LikenessError('E_CRYPTO', `no key to encrypt with: set LIKENESS_KEY (and LIKENESS_NEW_KEY to rotate)\nusage: ${REKEY_USAGE}`);
  const oldKeys = current && current !== next ? [current] : [];
  const g = await Guard.open({ ...guardOptions(values), key: next, oldKeys });
  try {
    const report = await g.rekey();
    printJson(io, report);
    if (process.env.LIKENESS_NEW_KEY) io.err('likeness: templates re-encrypted; set LIKENESS_KEY to the new key from now on\n');
    return 0;
  } finally {
    await g.close();
  }
};

const MATCH_USAGE = {
  identify: `likeness identify FILE... ${FROM_USAGE} [--top K] [--far RATE] [--preset accurate|fast] [--model VOICE_MODEL] [--db PATH] ${LIMIT_USAGE}`,
  verify: `likeness verify --performer ID FILE... ${FROM_USAGE} [--top K] [--far RATE] [--preset accurate|fast] [--model VOICE_MODEL] [--db PATH] ${LIMIT_USAGE}`,
};

function matchCommand(mode: 'identify' | 'verify'): CommandHandler {
  return async (args, io) => {
    const usageText = MATCH_USAGE[mode];
    const { values, positionals } = parseCommandArgs(args, { ...DB, top: { type: 'string' }, far: { type: 'string' }, ...(mode === 'verify' ? { performer: { type: 'string' as const } } : {}), ...LIMIT_OPTIONS, ...FROM_OPTION }, usageText);
    if (values.help) return usage(io, usageText);
    const files = inputsWithLists(positionals, values.from);
    if (files.length === 0) throw invalid(`no media file given\nusage: ${usageText}`);
    const topK = values.top ? int('--top', Number(values.top), 1, 100) : 5;
    const far = values.far ? num('--far', Number(values.far), 1e-9, 0.5) : undefined;
    const performer = mode === 'verify' ? required(values.performer as string | undefined, 'performer', usageText) : undefined;
    let failed = 0;
    const results = await withGuard(values, async (g) => {
      const out: unknown[] = [];
      const warned = new Set<string>();
      for (const file of files) {
        try {
          const opts = { topK, ...(far ? { far: { match: far, possible: Math.min(0.5, far * 10) } } : {}) };
          const m = performer ? await g.verify(performer, file, opts) : await g.identify(file, opts);
          for (const w of m.warnings) if (!warned.has(w)) (warned.add(w), io.err(`likeness: note: ${w}\n`));
          out.push(m);
        } catch (e) {
          if (isLikenessError(e) && (['E_STORE', 'E_CRYPTO'].includes(e.code) || (e.code === 'E_MODEL' && e.details?.reason !== 'inference'))) throw e;
          // An unknown performer fails the whole command; a bad media file fails only its own entry (a bug: E_INTERNAL).
          if (isLikenessError(e) && e.code === 'E_NOT_FOUND' && performer && fs.existsSync(file)) throw e;
          const err = internalError(e, file);
          failed++;
          out.push({ media: { path: file }, error: { code: err.code, message: err.message } });
        }
      }
      return out;
    });
    printJson(io, { results });
    return failed ? 2 : 0;
  };
}

const CAL_USAGE = {
  faces: 'likeness calibrate faces --pairs CSV --root DIR [--preset accurate|fast] [--dry-run]  (writes the deployment calibration; --dry-run to only show it)',
  voices: 'likeness calibrate voices --trials CSV --root DIR [--model ID] [--dry-run]  (writes the deployment calibration; --dry-run to only show it)',
};

function calibrateCommand(modality: 'faces' | 'voices'): CommandHandler {
  return async (args, io) => {
    const usageText = CAL_USAGE[modality];
    const { values } = parseCommandArgs(args, {
      pairs: { type: 'string' }, trials: { type: 'string' }, root: { type: 'string' }, preset: { type: 'string' }, model: { type: 'string' },
      'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    }, usageText);
    if (values.help) return usage(io, usageText);
    const list = required(modality === 'faces' ? values.pairs : values.trials, modality === 'faces' ? 'pairs' : 'trials', usageText);
    const root = required(values.root, 'root', usageText);
    const report = await Guard.calibrate({
      modality,
      list,
      root,
      ...(values.preset ? { preset: oneOf('--preset', values.preset, ['accurate', 'fast'] as const) } : {}),
      ...(values.model ? { model: values.model } : {}),
      write: !values['dry-run'],
      ...(io.isTTY ? { onProgress: (d: number, t: number) => io.status(`${d}/${t}`) } : {}),
    });
    if (io.isTTY) io.err('\n');
    printJson(io, report);
    return 0;
  };
}

const DOCTOR_USAGE = 'likeness doctor [--preset accurate|fast] [--model VOICE_MODEL] [--db PATH]';

const doctor: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(args, { ...DB }, DOCTOR_USAGE);
  if (values.help) return usage(io, DOCTOR_USAGE);
  const report = await Guard.doctor(guardOptions(values));
  printJson(io, report);
  const n = report.native;
  io.err(`likeness doctor: native kernels: ${n.available ? `${n.source === 'prebuilt' ? 'prebuilt addon' : 'node-gyp build'} (${n.file}, ${n.simd})` : 'TypeScript twins (no addon)'}\n`);
  io.err(`likeness doctor: ffmpeg: ${report.ffmpeg.path ? `${report.ffmpeg.version ?? 'unknown version'} (${report.ffmpeg.path}, ${report.ffmpeg.source})` : 'not found'}\n`);
  for (const w of report.warnings) io.err(`likeness doctor: warning: ${w}\n`);
  return 0;
};

function usage(io: CommandIO, u: string): number {
  io.out(`usage: ${u}\n`);
  return 0;
}

/** Registry commands: enroll, performers, rekey, verify, identify, calibrate, doctor. */
export const registryCommands: Record<string, CommandHandler> = {
  enroll,
  performers,
  'performers add-reference': addReference,
  rekey,
  identify: matchCommand('identify'),
  verify: matchCommand('verify'),
  'calibrate faces': calibrateCommand('faces'),
  'calibrate voices': calibrateCommand('voices'),
  doctor,
};
