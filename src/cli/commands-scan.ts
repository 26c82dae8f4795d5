import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { formatConfidence, modalityLabel } from '../report/format';
import { scanReportFile } from '../report/provenance';
import { findChromium, renderPdf } from '../report/pdf';
import { LikenessError } from '../errors';

import { renderHtmlReport } from '../report/html';
import { LineLog, checkOutputPaths, writeFileAtomic, type OutputTarget } from '../report/output';
import { Guard, defaultStoreLocation } from '../guard';
import { SCAN_SCHEMA_VERSION, isScanFailure, type ReportReferenceThumbnails, type ScanFailure, type ScanReportFile, type ScanResult, type SkippedInput } from '../report/schema';
import type { ScanEvent } from '../scan/scanner';
import { int, num, oneOf, invalid } from '../validate';
import { FROM_OPTION, FROM_USAGE, LIMIT_OPTIONS, LIMIT_USAGE, inputsWithLists, limitsFrom, parseCommandArgs } from './args';
import { listMediaFiles } from '../media/gate';
import { dataHome } from '../paths';
import { DEFAULT_LIMITS, resolveLimits } from '../media/limits';
import { CommandHandler, CommandIO } from './command';

const SCAN_USAGE =
  `likeness scan INPUT... ${FROM_USAGE} [--db PATH] [--json FILE] [--jsonl] [--jsonl-file FILE] [--report FILE.html|FILE.pdf] [--fps N] [--concurrency N] [--far RATE] [--skip-seen] [--preset accurate|fast] [--model VOICE_MODEL] ${LIMIT_USAGE}\n` +
  '  INPUT: files, folders (scanned recursively) or globs (* ? ** [abc], quoted so the shell leaves them alone).\n' +
  '  LIST (--from): more inputs, one per line or NUL-separated (find -print0); `--from -` reads them from stdin.\n' +
  '  stdout: {schemaVersion, results} as JSON (default), one result per line with --jsonl, nothing with --json FILE or --jsonl-file FILE alone.\n' +
  '  --jsonl-file FILE: each input\'s result line is appended to FILE (created when missing) and flushed as soon as it is\n' +
  '    known, so a killed run leaves every finished input\'s line intact; a rerun (with --skip-seen, which also saves as\n' +
  '    it goes) appends the rest. --json and --report are still written at the end (atomically).\n' +
  '  stderr: a progress bar on a terminal and a one-line summary per input.\n' +
  '  exit: 0 every input scanned (match or not), 2 some inputs could not be scanned (see their error entries), 1 the command failed.';

/** True when a pattern holds glob characters. */
function isGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** Files found walking a folder, and the entries that could not be taken (special files, broken links, the cap). */
interface Walked {
  files: string[];
  problems: ScanFailure[];
}

/** Every regular file under `dir` through the input gate's walker (dot-files skipped, folder links not followed). */
function walk(dir: string, maxFiles: number, problems: ScanFailure[]): string[] {
  const r = listMediaFiles(dir, { maxFiles });
  for (const p of r.problems) problems.push({ media: { path: p.path }, error: { code: p.error.code, message: p.error.message } });
  return r.files;
}

/**
 * A glob as a regular expression over `/`-separated paths: `**` any depth, `*` and `?` within one path part,
 * `[...]` a character class. Node 20 has no fs.glob, and a dependency for this much is not worth it.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files a glob matches: walks from the pattern's last folder without glob characters. */
export function expandGlob(pattern: string, maxFiles = DEFAULT_LIMITS.maxFiles, problems: ScanFailure[] = []): string[] {
  // Normalised the way path.join normalises the walked paths ("./a/*.mp4" and "a/*.mp4" are the same pattern).
  const norm = path.posix.normalize(pattern.split(path.sep).join('/'));
  const parts = norm.split('/');
  const firstGlob = parts.findIndex(isGlob);
  const base = parts.slice(0, firstGlob).join('/') || (norm.startsWith('/') ? '/' : '.');
  let st: fs.Stats;
  try {
    st = fs.statSync(base);
  } catch {
    return [];
  }
  if (!st.isDirectory()) return [];
  const re = globToRegExp(norm);
  const found: ScanFailure[] = [];
  const files = walk(base, maxFiles, found).filter((f) => re.test(f.split(path.sep).join('/')));
  problems.push(...found.filter((p) => re.test(p.media.path.split(path.sep).join('/')) || p.error.code === 'E_TOO_LARGE'));
  return files;
}

/**
 * Inputs as given on the command line: files, folders (recursive, at most `maxFiles` each) and globs, in order,
 * without repeats. Special files, dangling links and link loops inside folders come back in `problems`; named
 * directly, they stay inputs (the scan reports them).
 */
export function expandInputs(args: readonly string[], maxFiles = DEFAULT_LIMITS.maxFiles): { files: string[]; unmatched: string[]; problems: ScanFailure[] } {
  const files: string[] = [];
  const unmatched: string[] = [];
  const problems: ScanFailure[] = [];
  const seen = new Set<string>();
  const add = (f: string): void => {
    const key = path.resolve(f);
    if (!seen.has(key)) (seen.add(key), files.push(f));
  };
  for (const a of args) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(a);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) walk(a, maxFiles, problems).forEach(add);
    else if (!st && isGlob(a)) {
      const m = expandGlob(a, maxFiles, problems);
      if (m.length === 0) unmatched.push(a);
      m.forEach(add);
    } else add(a); // a missing file becomes an E_NOT_FOUND entry
  }
  return { files, unmatched, problems };
}

/**
 * What a scan was run against, for `--skip-seen`: the gallery version, the face preset and embedder, the voice model.
 * An input is skipped only when all of them are the same as when it was scanned.
 */
export interface SeenKey {
  galleryVersion: number;
  facePreset: string;
  faceModel: string;
  voiceModel: string;
}

function seenKeyText(k: SeenKey): string {
  return `${k.galleryVersion}|${k.facePreset}|${k.faceModel}|${k.voiceModel}`;
}

/** The `--skip-seen` table: media hashes already scanned, with the gallery version and model ids they were scanned against. */
export class SeenTable {
  private entries: Record<string, string> = {};
  private dirty = false;

  private constructor(readonly file: string) {}

  /**
   * Reads `<db>.seen.json` beside a store file, or for a store URL (`postgres://...`) a file under the data folder
   * named by the URL's hash (a damaged or older table starts empty: it only saves work, it never hides a result).
   */
  static open(db: string): SeenTable {
    const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(db);
    const t = new SeenTable(isUrl ? path.join(dataHome(), 'seen', `${crypto.createHash('sha256').update(db).digest('hex').slice(0, 32)}.seen.json`) : `${db}.seen.json`);
    try {
      const j = JSON.parse(fs.readFileSync(t.file, 'utf8')) as { version?: number; entries?: Record<string, unknown> };
      if (j && j.version === 2 && j.entries && typeof j.entries === 'object') {
        for (const [h, v] of Object.entries(j.entries)) if (typeof v === 'string') t.entries[h] = v;
      }
    } catch {
      t.entries = {};
    }
    return t;
  }

  /** True when `sha256` was scanned against this gallery version with these models. */
  has(sha256: string, key: SeenKey): boolean {
    return Object.hasOwn(this.entries, sha256) && this.entries[sha256] === seenKeyText(key);
  }

  /** Records that `sha256` was scanned under `key`. */
  add(sha256: string, key: SeenKey): void {
    this.entries[sha256] = seenKeyText(key);
    this.dirty = true;
  }

  /** Writes the table atomically (temp file + rename). */
  save(): void {
    if (!this.dirty) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(tmp, JSON.stringify({ version: 2, entries: this.entries }));
    fs.renameSync(tmp, this.file);
    this.dirty = false;
  }
}

/**
 * The progress line for an event: the bar counts finished inputs plus the fraction of the current one (seconds
 * scanned of its duration), so it moves within one long video. Pure.
 */
export function progressLine(e: ScanEvent, width = 20): string {
  let within = 0;
  let text = '';
  if (e.type === 'progress') {
    const p = e.progress;
    text = ` ${path.basename(p.path)} ${p.stage}`;
    if (p.frames !== undefined) text += ` ${p.frames} frames`;
    if (p.seconds !== undefined) {
      text += ` ${p.seconds.toFixed(1)}${p.duration !== undefined ? ` of ${p.duration.toFixed(1)}` : ''} s`;
      if (p.duration !== undefined && p.duration > 0) within = Math.min(1, Math.max(0, p.seconds / p.duration));
    }
  }
  const total = Math.max(1, e.total);
  const filled = Math.min(width, Math.floor(((Math.min(e.done, total) + within) / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.done}/${e.total}${text}`;
}

/** A single-line progress bar on stderr, redrawn at most 10 times a second. */
class ProgressBar {
  private last = 0;
  private shown = false;
  constructor(private readonly io: CommandIO) {}

  update(e: ScanEvent, force = false): void {
    if (!this.io.isTTY) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const width = 20;
    const filled = Math.round((e.done / Math.max(1, e.total)) * width);
    let line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${e.done}/${e.total}`;
    if (e.type === 'progress') {
      const p = e.progress;
      line += ` ${path.basename(p.path)} ${p.stage}`;
      if (p.frames !== undefined) line += ` ${p.frames} frames`;
      if (p.seconds !== undefined) line += ` ${p.seconds.toFixed(1)}${p.duration !== undefined ? `/${p.duration.toFixed(1)}` : ''} s`;
    }
    this.io.status(line.slice(0, 120));
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.io.status('');
    this.shown = false;
  }
}

/** One line per input for people: who was found, or why it failed. */
function summaryLine(r: ScanResult | ScanFailure): string {
  if (isScanFailure(r)) return `${r.media.path}: could not scan (${r.error.code}): ${r.error.message}`;
  const who = r.verdicts.map((v) => `${v.name} [${modalityLabel(v.modalities, v.overlaps.length > 0)}] ${v.decision} ${formatConfidence(v.confidence)}`);
  return `${r.media.path}: ${r.media.kind}${r.media.duration !== undefined ? ` ${r.media.duration.toFixed(1)} s` : ''}, ${who.length ? who.join('; ') : 'no enrolled performer found'}`;
}

const scan: CommandHandler = async (args, io) => {
  const { values, positionals } = parseCommandArgs(args, {
    db: { type: 'string' }, json: { type: 'string' }, jsonl: { type: 'boolean' }, 'jsonl-file': { type: 'string' }, report: { type: 'string' }, fps: { type: 'string' },
    concurrency: { type: 'string' }, far: { type: 'string' }, 'skip-seen': { type: 'boolean' }, preset: { type: 'string' }, model: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    ...LIMIT_OPTIONS, ...FROM_OPTION,
  }, SCAN_USAGE);
  if (values.help) {
    io.out(`usage: ${SCAN_USAGE}\n`);
    return 0;
  }
  const inputs = inputsWithLists(positionals, values.from);
  if (inputs.length === 0) throw invalid(`no input given\nusage: ${SCAN_USAGE}`);
  const fps = values.fps !== undefined ? num('--fps', Number(values.fps), 0.01, 60) : 2;
  const concurrency = values.concurrency !== undefined ? int('--concurrency', Number(values.concurrency), 1, 64) : 1;
  const far = values.far !== undefined ? num('--far', Number(values.far), 1e-9, 0.5) : undefined;
  const preset = values.preset !== undefined ? oneOf('--preset', values.preset, ['accurate', 'fast'] as const) : undefined;
  if (values.report !== undefined && !/\.(html?|pdf)$/i.test(values.report)) throw invalid(`--report needs a .html or .pdf file name, got ${values.report}`);
  // A PDF needs Chromium: say so before scanning, not after.
  if (values.report !== undefined && /\.pdf$/i.test(values.report) && !findChromium()) {
    throw new LikenessError('E_UNSUPPORTED', `--report ${values.report} prints with Chromium, which was not found: install Chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH; or write --report FILE.html`);
  }
  const limits = limitsFrom(values);
  const db = values.db ?? defaultStoreLocation();
  const { files, unmatched, problems } = expandInputs(inputs, resolveLimits(limits).maxFiles);
  // Before any work: outputs never land on the store, an input or each other, and each can be written.
  const outputs: OutputTarget[] = [];
  if (values.json !== undefined) outputs.push({ flag: '--json', file: values.json });
  if (values.report !== undefined) outputs.push({ flag: '--report', file: values.report });
  if (values['jsonl-file'] !== undefined) outputs.push({ flag: '--jsonl-file', file: values['jsonl-file'] });
  checkOutputPaths(outputs, { store: db, inputs: [...files, ...(values.from ?? []).filter((l) => l !== '-')] });
  const results: (ScanResult | ScanFailure)[] = unmatched.map((p) => ({ media: { path: p }, error: { code: 'E_NOT_FOUND', message: `${p} matched no file` } }));
  results.push(...problems);
  for (const p of problems) io.err(summaryLine(p) + '\n');
  const ordered: (ScanResult | ScanFailure | undefined)[] = new Array(files.length);
  const guard = await Guard.open({ db, limits, ...(preset ? { facePreset: preset } : {}), ...(values.model ? { voiceModel: values.model } : {}) });
  // The crash-safe log: every entry is on disk as soon as it is known (a failing disk is a note, never the end of the scan).
  let lines: LineLog | null = null;
  const logToFile = (r: ScanResult | ScanFailure): void => {
    if (!lines) return;
    try {
      lines.write(r);
    } catch (e) {
      io.err(`likeness: note: ${(e as Error).message}; the remaining results go to the final outputs only\n`);
      lines.close();
      lines = null;
    }
  };
  try {
    if (values['jsonl-file'] !== undefined) {
      lines = LineLog.open(values['jsonl-file']);
      if (lines.droppedTail > 0) io.err(`likeness: note: ${values['jsonl-file']} ended in a cut-off line (${lines.droppedTail} bytes, from a run that was killed); it was dropped and new lines are appended\n`);
    }
  } catch (e) {
    await guard.close();
    throw e;
  }
  // Inputs that failed before scanning (no match for a glob, special files in a folder) come first.
  for (const r of results) logToFile(r);
  const seen = values['skip-seen'] ? SeenTable.open(db) : null;
  const bar = new ProgressBar(io);
  const skipped: SkippedInput[] = [];
  const warned = new Set<string>();
  let thumbnails: ReportReferenceThumbnails[] = [];
  let seenNext = 0; // when the seen table may be saved again
  try {
    const galleryVersion = await guard.galleryVersion();
    const key = (v: number): SeenKey => ({ galleryVersion: v, facePreset: guard.faces.preset, faceModel: guard.models.face, voiceModel: guard.models.voice });
    const events = guard.scanMany(files, { fps, concurrency, ...(far !== undefined ? { far } : {}), ...(seen ? { skip: ({ sha256 }) => seen.has(sha256, key(galleryVersion)) } : {}) });
    for await (const e of events) {
      if (e.type === 'progress') {
        bar.update(e);
        continue;
      }
      bar.clear();
      if (e.type === 'skipped') {
        skipped.push({ path: e.path, sha256: e.sha256, reason: 'already scanned against this gallery version with the same models' });
        io.err(`${e.path}: skipped (already scanned against this gallery version with the same models)\n`);
      } else {
        ordered[e.index] = e.result;
        if (values.jsonl) io.out(JSON.stringify(e.result) + '\n');
        logToFile(e.result);
        io.err(summaryLine(e.result) + '\n');
        if (!isScanFailure(e.result)) {
          for (const w of e.result.warnings) if (!warned.has(w)) (warned.add(w), io.err(`likeness: note: ${w}\n`));
          seen?.add(e.result.media.sha256, key(e.result.galleryVersion));
          // Saved as it goes, so a rerun after a crash skips what was finished: after each result while saving is
          // cheap, and no more than a tenth of the time once the table is large.
          if (seen && Date.now() >= seenNext) {
            const t0 = Date.now();
            seen.save();
            seenNext = Date.now() + 10 * (Date.now() - t0);
          }
        }
      }
      bar.update(e, true);
    }
    // The enrolled references' thumbnails go to the HTML / PDF page only (biometric data: never to stdout or --json).
    if (values.report !== undefined) {
      const matches = ordered.flatMap((r) => (r && !isScanFailure(r) ? r.matches : []));
      // The references found reused (possibly another performer's) are shown beside the segment that reuses them.
      const reused = matches.flatMap((m) => m.segments.flatMap((s) => (s.origin?.kind === 'reference-reuse' ? [s.origin] : [])));
      thumbnails = await guard.referenceThumbnails([...matches.map((m) => m.performerId), ...reused.map((o) => o.performerId)], reused.map((o) => o.referenceId));
    }
  } finally {
    bar.clear();
    (lines as LineLog | null)?.close();
    seen?.save();
    await guard.close();
  }
  for (const r of ordered) if (r) results.push(r);
  const report: ScanReportFile = { ...scanReportFile(results), ...(seen ? { skipped } : {}) };
  const json = JSON.stringify(report, null, 2) + '\n';
  if (values.json !== undefined) writeFileAtomic(values.json, json);
  if (values.report !== undefined) {
    // The page names the sha256 of the JSON above (what --json writes, without the thumbnails).
    const html = renderHtmlReport({ ...report, referenceThumbnails: thumbnails }, { title: `likeness scan (${results.length} media)` });
    writeFileAtomic(values.report, /\.pdf$/i.test(values.report) ? await renderPdf(html) : html);
  }
  if (!values.jsonl && values.json === undefined && values['jsonl-file'] === undefined) io.out(json);
  const failed = results.filter(isScanFailure).length;
  io.err(`likeness scan: ${results.length - failed} scanned, ${failed} failed${skipped.length ? `, ${skipped.length} skipped as already seen` : ''}\n`);
  return failed > 0 ? 2 : 0;
};

/** `likeness scan`. */
export const scanCommands: Record<string, CommandHandler> = { scan };

