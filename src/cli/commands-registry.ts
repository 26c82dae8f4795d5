import * as fs from 'fs';
import * as path from 'path';
import { LikenessError, isLikenessError } from '../errors';
import { evalFacePairs } from '../eval/face-eval';
import { evalVoiceTrials } from '../eval/voice-eval';
import { FaceAnalyzer } from '../face/analyzer';
import { Calibration, fitCalibration, impostorRate, searchThresholds } from '../match/calibration';
import { listModels } from '../models/store';
import { nativeInfo } from '../kernels/addon';
import { userCalibrationFile } from '../match/calibrations';
import { Guard, GuardOptions, defaultDbPath } from '../guard';
import { storeWarnings } from '../store/open';
import { chainKeyProviders, envKeyProvider, staticKeyProvider } from '../store/crypto';
import type { Consent } from '../store/types';
import { VoiceEmbedder } from '../voice/embed';
import { int, num, oneOf } from '../validate';
import { parseCommandArgs, required } from './args';
import { CommandHandler, CommandIO, printJson } from './command';

const DB = { db: { type: 'string' as const }, preset: { type: 'string' as const }, help: { type: 'boolean' as const, short: 'h' } };

function guardOptions(values: { db?: string; preset?: string }): GuardOptions {
  return {
    db: values.db ?? defaultDbPath(),
    ...(values.preset ? { facePreset: oneOf('--preset', values.preset, ['accurate', 'fast'] as const) } : {}),
  };
}

async function withGuard<T>(values: { db?: string; preset?: string }, fn: (g: Guard) => Promise<T>): Promise<T> {
  const g = await Guard.open(guardOptions(values));
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

const ENROLL_USAGE =
  'likeness enroll (--name NAME | --id ID) [--largest] (--consent-by WHO [--consent-scope S] [--consent-expires DATE] [--consent-doc REF] | --consent-file FILE.json | --no-consent) [--alias A]... [--db PATH] FILE...';

function consentFrom(v: Record<string, string | boolean | string[] | undefined>): Consent | undefined {
  if (typeof v['consent-file'] === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(v['consent-file'], 'utf8'));
    } catch (e) {
      throw new LikenessError('E_INPUT', `cannot read consent file ${v['consent-file']}: ${(e as Error).message}`);
    }
    const c = parsed as Partial<Consent>;
    if (!c || typeof c.grantedBy !== 'string') throw new LikenessError('E_INPUT', 'consent file needs at least "grantedBy" (and "scope", "grantedAt", "expiresAt", "documentRef")');
    return { grantedBy: c.grantedBy, grantedAt: c.grantedAt ?? new Date().toISOString(), scope: c.scope ?? 'likeness monitoring', ...(c.expiresAt ? { expiresAt: c.expiresAt } : {}), ...(c.documentRef ? { documentRef: c.documentRef } : {}) };
  }
  if (typeof v['consent-by'] === 'string') {
    const expires = v['consent-expires'];
    if (typeof expires === 'string' && Number.isNaN(Date.parse(expires))) throw new LikenessError('E_INPUT', `--consent-expires must be a date (YYYY-MM-DD), got ${expires}`);
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
    'consent-file': { type: 'string' }, 'no-consent': { type: 'boolean' },
  }, ENROLL_USAGE);
  if (values.help) return usage(io, ENROLL_USAGE);
  if (!values.name === !values.id) throw new LikenessError('E_INPUT', `give exactly one of --name (new performer) or --id (existing)\nusage: ${ENROLL_USAGE}`);
  if (positionals.length === 0) throw new LikenessError('E_INPUT', `no reference file given\nusage: ${ENROLL_USAGE}`);
  const consent = consentFrom(values);
  if (values.name && !consent && !values['no-consent']) {
    throw new LikenessError('E_CONSENT', `enrollment needs a consent record (--consent-by WHO or --consent-file) or an explicit --no-consent\nusage: ${ENROLL_USAGE}`);
  }
  const target = values.id
    ? { id: values.id }
    : { name: values.name!, ...(values.alias ? { aliases: values.alias } : {}), ...(consent ? { consent } : { noConsent: true }) };
  const report = await withGuard(values, (g) => g.enroll(target, positionals, { largest: values.largest ?? false }));
  printJson(io, report);
  return report.rejected.length ? 2 : 0;
};

const PERF_USAGE = 'likeness performers list | show ID | delete ID | export ID [--vectors] | consent ID --withdraw [--delete] [--db PATH]';

const performers: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, {
    ...DB, vectors: { type: 'boolean' }, withdraw: { type: 'boolean' }, delete: { type: 'boolean' },
  }, PERF_USAGE);
  if (values.help) return usage(io, PERF_USAGE);
  const [verb, id] = positionals;
  const needId = (): string => required(id, 'ID', PERF_USAGE);
  return withGuard(values, async (g) => {
    const r = g.registry;
    switch (verb) {
      case 'list':
        printJson(io, { performers: await r.listPerformers() });
        return 0;
      case 'show': {
        const p = await r.getPerformer(needId());
        printJson(io, { ...p, references: await g.store.references(p.id) });
        return 0;
      }
      case 'delete': {
        const deleted = await r.delete(needId());
        await g.store.checkpoint();
        printJson(io, { performerId: id, deleted });
        return deleted ? 0 : 1;
      }
      case 'export':
        printJson(io, await r.export(needId(), { includeVectors: values.vectors ?? false }));
        return 0;
      case 'consent': {
        if (!values.withdraw) throw new LikenessError('E_INPUT', `consent needs --withdraw\nusage: ${PERF_USAGE}`);
        const res = await r.withdrawConsent(needId(), { delete: values.delete ?? false });
        if (res.deleted) await g.store.checkpoint();
        printJson(io, { performerId: id, ...res });
        return 0;
      }
      default:
        throw new LikenessError('E_INPUT', `unknown performers command "${verb ?? ''}"\nusage: ${PERF_USAGE}`);
    }
  });
};

const REKEY_USAGE = 'LIKENESS_KEY=<current> LIKENESS_NEW_KEY=<new> likeness rekey [--db PATH]  (without LIKENESS_NEW_KEY: encrypts plaintext templates under LIKENESS_KEY)';

const rekey: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(args, { ...DB }, REKEY_USAGE);
  if (values.help) return usage(io, REKEY_USAGE);
  const current = envKeyProvider();
  const next = process.env.LIKENESS_NEW_KEY ? staticKeyProvider(process.env.LIKENESS_NEW_KEY) : current;
  if (!next) throw new LikenessError('E_CRYPTO', `no key to encrypt with: set LIKENESS_KEY (and LIKENESS_NEW_KEY to rotate)\nusage: ${REKEY_USAGE}`);
  const readKeys = current && next !== current ? chainKeyProviders(next, current) : next;
  const g = await Guard.open({ ...guardOptions(values), key: readKeys });
  try {
    const report = await g.registry.rekey(next);
    await g.store.checkpoint();
    printJson(io, report);
    if (process.env.LIKENESS_NEW_KEY) io.err('likeness: templates re-encrypted; set LIKENESS_KEY to the new key from now on\n');
    return 0;
  } finally {
    await g.close();
  }
};

const MATCH_USAGE = 'likeness identify FILE... [--top K] [--far RATE] [--db PATH] | likeness verify --performer ID FILE... [--db PATH]';

function matchCommand(mode: 'identify' | 'verify'): CommandHandler {
  return async (args, io) => {
    const { values, positionals } = parseCommandArgs(args, { ...DB, top: { type: 'string' }, far: { type: 'string' }, performer: { type: 'string' } }, MATCH_USAGE);
    if (values.help) return usage(io, MATCH_USAGE);
    if (positionals.length === 0) throw new LikenessError('E_INPUT', `no media file given\nusage: ${MATCH_USAGE}`);
    const topK = values.top ? int('--top', Number(values.top), 1, 100) : 5;
    const far = values.far ? num('--far', Number(values.far), 1e-9, 0.5) : undefined;
    const performer = mode === 'verify' ? required(values.performer, 'performer', MATCH_USAGE) : undefined;
    let failed = 0;
    const results = await withGuard(values, async (g) => {
      const out: unknown[] = [];
      const warned = new Set<string>();
      for (const file of positionals) {
        try {
          const opts = { topK, ...(far ? { far: { match: far, possible: Math.min(0.5, far * 10) } } : {}) };
          const m = performer ? await g.verify(performer, file, opts) : await g.identify(file, opts);
          for (const w of m.warnings) if (!warned.has(w)) (warned.add(w), io.err(`likeness: note: ${w}\n`));
          out.push(m);
        } catch (e) {
          if (!isLikenessError(e) || ['E_STORE', 'E_CRYPTO', 'E_MODEL'].includes(e.code)) throw e;
          // An unknown performer fails the whole command; a bad media file fails only its own entry.
          if (e.code === 'E_NOT_FOUND' && performer && fs.existsSync(file)) throw e;
          failed++;
          out.push({ media: { path: file }, error: { code: e.code, message: e.message } });
        }
      }
      return out;
    });
    printJson(io, { results });
    return failed ? 2 : 0;
  };
}

const CAL_USAGE = 'likeness calibrate faces --pairs CSV --root DIR [--preset P] | likeness calibrate voices --trials CSV --root DIR [--model ID]  (writes the deployment calibration; --dry-run to only show it)';

function calibrateCommand(modality: 'faces' | 'voices'): CommandHandler {
  return async (args, io) => {
    const { values } = parseCommandArgs(args, {
      pairs: { type: 'string' }, trials: { type: 'string' }, root: { type: 'string' }, preset: { type: 'string' }, model: { type: 'string' },
      'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    }, CAL_USAGE);
    if (values.help) return usage(io, CAL_USAGE);
    const list = required(modality === 'faces' ? values.pairs : values.trials, modality === 'faces' ? 'pairs' : 'trials', CAL_USAGE);
    const root = required(values.root, 'root', CAL_USAGE);
    const progress = io.isTTY ? (d: number, t: number) => io.err(`\r${d}/${t}`) : undefined;
    const r = modality === 'faces'
      ? await evalFacePairs(await FaceAnalyzer.create({ preset: values.preset ? oneOf('--preset', values.preset, ['accurate', 'fast'] as const) : 'accurate' }), list, root, progress)
      : await evalVoiceTrials(await VoiceEmbedder.create(values.model ? { model: values.model } : {}), list, root, progress);
    if (io.isTTY) io.err('\n');
    const genuine = r.scores.filter((s) => s.same && s.score > -1).map((s) => s.score);
    const impostor = r.scores.filter((s) => !s.same && s.score > -1).map((s) => s.score);
    if (genuine.length < 10 || impostor.length < 100) throw new LikenessError('E_INPUT', `too few scored pairs to calibrate (${genuine.length} genuine, ${impostor.length} impostor; need 10 and 100)`);
    const cal = fitCalibration(genuine, impostor, { modelId: r.model, source: path.basename(list) });
    const out = userCalibrationFile(r.model);
    if (!values['dry-run']) {
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, JSON.stringify(cal, null, 2) + '\n');
    }
    printJson(io, { model: r.model, method: cal.method, written: values['dry-run'] ? null : out, genuine: genuine.length, impostor: impostor.length, failed: r.failed, atThresholds: ratesAt(cal, genuine, impostor) });
    return 0;
  };
}

/** FAR/FRR on the list at the per-comparison thresholds for a one-performer search (and the tail model's FAR). */
function ratesAt(cal: Calibration, genuine: number[], impostor: number[]) {
  const t = searchThresholds(cal, 1);
  const rates = (thr: number) => ({
    threshold: thr,
    far: impostor.filter((s) => s >= thr).length / impostor.length,
    frr: genuine.filter((s) => s < thr).length / genuine.length,
    farModel: impostorRate(cal.impostorTail, thr),
  });
  return { match: rates(t.match), possible: rates(t.possible) };
}

const DOCTOR_USAGE = 'likeness doctor [--db PATH]';

const doctor: CommandHandler = async (args, io) => {
  const { values } = parseCommandArgs(args, { ...DB }, DOCTOR_USAGE);
  if (values.help) return usage(io, DOCTOR_USAGE);
  const warnings: string[] = [];
  const models = await listModels();
  const voiceNeural = models.filter((m) => m.modality === 'voice' && m.task === 'embed' && m.source !== 'builtin');
  if (!voiceNeural.some((m) => m.state === 'verified' || m.state === 'present')) {
    warnings.push('no neural voice model installed: voices use the weight-free baseline; run `likeness models pull campplus-voxceleb` (offline: `likeness models add FILE --as campplus-voxceleb`)');
  }
  let store: unknown = null;
  try {
    await withGuard(values, async (g) => {
      const info = await g.store.info();
      store = info;
      warnings.push(...storeWarnings(info));
    });
  } catch (e) {
    if (!isLikenessError(e)) throw e;
    warnings.push(`store: ${e.code}: ${e.message}`);
  }
  const native = nativeInfo();
  if (!native.available) warnings.push('native kernels are not built: the TypeScript implementations run instead (slower); reinstall with a C++ toolchain to build them');
  printJson(io, { ok: warnings.length === 0, warnings, store, native, models: models.map((m) => ({ id: m.id, state: m.state })) });
  for (const w of warnings) io.err(`likeness doctor: warning: ${w}\n`);
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
  rekey,
  identify: matchCommand('identify'),
  verify: matchCommand('verify'),
  'calibrate faces': calibrateCommand('faces'),
  'calibrate voices': calibrateCommand('voices'),
  doctor,
};
