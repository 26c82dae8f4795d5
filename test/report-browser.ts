import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';

// Opens an HTML report in Debian's headless Chromium (via playwright-core) and reads what a reviewer would see, with
// every console message, failed or external request and dialog collected as a problem.

/** Debian's Chromium; tests skip their browser part when it is absent. */
export const CHROMIUM = '/usr/bin/chromium';

/** What the page showed. */
export interface BrowserView {
  problems: string[];
  performers: string[];
  /** Scanned face crops (every image but the enrolled reference thumbnails and the origin column's). */
  crops: { ok: boolean; width: number }[];
  /** Reference thumbnails shown beside a segment found reusing that reference (the origin column). */
  originThumbnails: { ok: boolean; width: number }[];
  /** Text of each origin cell. */
  origins: string[];
  /** Enrolled reference thumbnails, and how many performers say "no thumbnail". */
  references: { ok: boolean; width: number }[];
  noThumbnail: number;
  scripts: number;
}

/** Loads `file` from a file:// URL in a fresh profile and returns what it showed. */
export async function viewInChromium(file: string): Promise<BrowserView> {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const url = pathToFileURL(file).href;
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => problems.push(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (r.url() !== url && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(200);
    // Browser-side code as a string: the project compiles without the DOM lib.
    const seen = (await page.evaluate(`(() => ({
      performers: [...document.querySelectorAll('#performers h3')].map((h) => h.childNodes[0].textContent.trim()),
      crops: [...document.querySelectorAll('img:not(figure.reference img):not(td.origin img)')].map((i) => ({ ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth })),
      originThumbnails: [...document.querySelectorAll('td.origin img')].map((i) => ({ ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth })),
      origins: [...document.querySelectorAll('td.origin')].map((td) => td.textContent.trim()),
      references: [...document.querySelectorAll('figure.reference img')].map((i) => ({ ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth })),
      noThumbnail: document.querySelectorAll('figure.reference.none').length,
      scripts: document.querySelectorAll('script').length,
    }))()`)) as Omit<BrowserView, 'problems'>;
    return { problems, ...seen };
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
