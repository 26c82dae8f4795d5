import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { LikenessError } from '../errors';
import { options, str } from '../validate';

/** Options of {@link renderPdf}. */
export interface PdfOptions {
  /** Chromium (or Chrome) executable; default `CHROMIUM_PATH`, then `chromium`, `chromium-browser`, `google-chrome` on PATH. */
  chromium?: string;
}

/** Longest a print may take before Chromium is stopped. */
const PRINT_TIMEOUT_MS = 120_000;

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const FIX = 'install Chromium (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable';

/** The Chromium executable to print with, or null when none is installed. */
export function findChromium(explicit?: string): string | null {
  const given = explicit ?? process.env['CHROMIUM_PATH'];
  if (given) return isExecutable(given) ? given : null;
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean)) {
    for (const n of NAMES) {
      const f = path.join(dir, n);
      if (isExecutable(f)) return f;
    }
  }
  return null;
}

function isExecutable(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

/**
 * Prints an HTML report (as made by {@link renderHtmlReport}) to PDF bytes with the system Chromium, headless
 * (`--print-to-pdf`), in a fresh profile with networking off; the page's print stylesheet lays it out for paper.
 *
 * @throws LikenessError `E_UNSUPPORTED` (with the fix) when no Chromium is installed; `E_INTERNAL` when Chromium runs
 * but writes no PDF.
 * @example
 * fs.writeFileSync('report.pdf', await renderPdf(renderHtmlReport(file)));
 */
export async function renderPdf(html: string, opts: PdfOptions = {}): Promise<Buffer> {
  str('html', html);
  options('PDF options', opts);
  if (opts.chromium !== undefined) str('chromium', opts.chromium);
  const exe = findChromium(opts.chromium);
  if (!exe) throw new LikenessError('E_UNSUPPORTED', `a PDF report needs Chromium, which was not found${opts.chromium || process.env['CHROMIUM_PATH'] ? ` at ${opts.chromium ?? process.env['CHROMIUM_PATH']}` : ''}: ${FIX}; or write --report FILE.html`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-pdf-'));
  try {
    const page = path.join(dir, 'report.html');
    const out = path.join(dir, 'report.pdf');
    fs.writeFileSync(page, html);
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-extensions', `--user-data-dir=${path.join(dir, 'profile')}`, '--no-pdf-header-footer', `--print-to-pdf=${out}`,
      pathToFileURL(page).href,
    ];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const p = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      // A browser that hangs (a broken install, a locked profile) must not hang the scan.
      const timer = setTimeout(() => p.kill('SIGKILL'), PRINT_TIMEOUT_MS);
      p.on('close', () => clearTimeout(timer));
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      p.on('error', reject);
      p.on('close', (c) => resolve({ code: c, stderr: err }));
    }).catch((e: Error) => {
      throw new LikenessError('E_UNSUPPORTED', `cannot run ${exe}: ${e.message}: ${FIX}`, undefined, { cause: e });
    });
    if (!fs.existsSync(out) || fs.statSync(out).size === 0) {
      throw new LikenessError('E_INTERNAL', `${exe} wrote no PDF (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
