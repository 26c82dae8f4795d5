import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { chromium, type BrowserContext } from 'playwright-core';
import { renderHtmlReport } from '../src/report/html';
import type { ScanResult } from '../src/report/schema';
import { EVIL_NAME, EVIL_PATH, QUOTE_NAME, jpegDataUrl, sampleReport } from './report-fixtures';
import { describeIf } from './helpers/requires';

// The evidence page in a real headless Chromium (Debian's `chromium`, installed by .ci/run): it loads from a file://
// URL with no console error, no network request, no dialog, shows the expected performers, and hostile names and
// file names are text, not elements.

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report-chromium: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);
const maybe = describeIf(hasChromium, 'Chromium (/usr/bin/chromium)');

/** What the page shows, read in the browser. */
interface PageView {
  performers: string[];
  scripts: number;
  injected: number;
  crops: { ok: boolean; src: string }[];
  failures: string[][];
  mediaTitles: string[];
  title: string;
  bars: number;
  badge: string;
  audio: { src: string; duration: number }[];
  text: string;
}

maybe('HTML report in headless Chromium', () => {
  let tmp: string;
  let context: BrowserContext;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-report-'));
    // A fresh profile per run: nothing cached, no extensions, no first-run pages.
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await context?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads offline with no console error or network request and shows performers, crops and failures', async () => {
    const file = path.join(tmp, 'report.html');
    fs.writeFileSync(file, renderHtmlReport(await sampleReport(), { title: `Report for ${EVIL_NAME}`, generatedAt: '2026-11-28T02:00:00Z' }));
    const url = pathToFileURL(file).href;
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (r.url() !== url && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
    });

    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(200); // late errors (CSP reports are async)

    // Browser-side code as a string: the project compiles without the DOM lib.
    const view = (await page.evaluate(`(() => ({
      performers: [...document.querySelectorAll('#performers h3')].map((h) => h.childNodes[0].textContent.trim()),
      scripts: document.querySelectorAll('script').length,
      injected: document.querySelectorAll('img[src="x"], img[onerror], td script').length + [...document.querySelectorAll('b')].filter((b) => b.textContent === 'Bold').length,
      crops: [...document.querySelectorAll('img')].map((i) => ({ ok: i.complete && i.naturalWidth > 0, src: i.getAttribute('src').slice(0, 30) })),
      failures: [...document.querySelectorAll('#failures tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      mediaTitles: [...document.querySelectorAll('article.media h3')].map((h) => h.textContent),
      title: document.title,
      bars: document.querySelectorAll('svg.timeline rect').length,
      badge: getComputedStyle(document.querySelector('.decision-match')).backgroundColor,
      audio: [],
      text: document.body.innerText,
    }))()`)) as PageView;
    // Each voice clip plays: the browser decodes its metadata (duration) from the embedded Ogg.
    view.audio = (await page.evaluate(`Promise.all([...document.querySelectorAll('audio')].map((a) => new Promise((done) => {
      a.addEventListener('loadedmetadata', () => done({ src: a.getAttribute('src').slice(0, 28), duration: a.duration }));
      a.addEventListener('error', () => done({ src: a.getAttribute('src').slice(0, 28), duration: -1 }));
      a.preload = 'metadata';
      a.load();
    })))`)) as PageView['audio'];
    // The stylesheet is allowed by its hash in the CSP: when the hash is wrong the badge has no background.

    expect(problems).toEqual([]);
    expect(view.performers).toEqual([EVIL_NAME, QUOTE_NAME]);
    expect(view.scripts).toBe(0);
    expect(view.injected).toBe(0);
    expect(view.title).toBe(`Report for ${EVIL_NAME}`);
    expect(view.mediaTitles).toEqual([EVIL_PATH, 'photos/still "one".jpg']);
    expect(view.crops).toHaveLength(2);
    for (const c of view.crops) expect(c).toEqual({ ok: true, src: expect.stringMatching(/^data:image\/jpeg;base64,\/9j\//) });
    expect(view.failures.map((f) => f[1])).toEqual(['E_DECODE', 'E_TOO_LARGE']);
    expect(view.failures[0]![0]).toBe('broken/<bad>.mp4');
    expect(view.bars).toBe(5);
    expect(view.badge).toBe('rgb(179, 38, 30)');
    // One player per voice match, the reference crops, consent, the decision rule, versions and hashes.
    expect(view.audio).toHaveLength(1);
    expect(view.audio[0]!.src).toBe('data:audio/ogg;base64,T2dnUw');
    expect(view.audio[0]!.duration).toBeGreaterThan(0.5);
    for (const t of ['Consent: granted', 'granted by Agent <x>', 'Consent: not recorded', 'Decision rule', 'match when the score is at least 0.520', 'gallery of 1234 templates', 'Tool likeness-guard 9.9.9-test', 'e'.repeat(64), 'report JSON sha256', 'a'.repeat(64)]) {
      expect(view.text).toContain(t);
    }
    await page.close();
  });

  it('shows the enrolled reference thumbnail beside the crops, and "no thumbnail" where none was kept', async () => {
    const r = await sampleReport();
    const thumb = await jpegDataUrl([30, 160, 90], 96);
    const file = path.join(tmp, 'thumbnails.html');
    fs.writeFileSync(file, renderHtmlReport({ ...r, referenceThumbnails: [{ performerId: 'p-evil', thumbnails: [{ referenceHash: 'b'.repeat(64), thumbnail: thumb }] }] }));
    const page = await context.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const seen = (await page.evaluate(`(() => [...document.querySelectorAll('article.performer')].map((a) => ({
      name: a.querySelector('h3 bdi').textContent,
      first: a.querySelector('.crops figure') && a.querySelector('.crops figure').className,
      refs: [...a.querySelectorAll('figure.reference img')].map((i) => i.complete && i.naturalWidth === 96),
      crops: a.querySelectorAll('.crops img:not(figure.reference img)').length,
      none: a.querySelectorAll('figure.reference.none').length,
    })))()`)) as { name: string; first: string; refs: boolean[]; crops: number; none: number }[];
    expect(seen).toEqual([
      { name: EVIL_NAME, first: 'reference', refs: [true], crops: 1, none: 0 },
      { name: QUOTE_NAME, first: 'reference none', refs: [], crops: 1, none: 1 },
    ]);
    await page.close();
  });

  it('labels a voice-only finding voice only', async () => {
    const r = await sampleReport();
    const res = r.results[0] as ScanResult;
    res.matches = res.matches.filter((m) => m.modality === 'voice');
    res.verdicts = [{ performerId: 'p-evil', name: EVIL_NAME, modalities: ['voice'], confidence: 0.87, decision: 'match', overlaps: [] }];
    const file = path.join(tmp, 'voice-only.html');
    fs.writeFileSync(file, renderHtmlReport({ ...r, results: [res] }));
    const page = await context.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const text = (await page.evaluate('document.body.innerText')) as string;
    expect(text).toContain('Voice only: match confidence 87.0%');
    expect(text).not.toMatch(/face and voice together:/i);
    expect(text).toContain(EVIL_NAME);
    await page.close();
  });

  it('blocks a network image even if one got into the page (CSP)', async () => {
    // Guard against a regression in the URL filter: the CSP alone must stop the load.
    const html = renderHtmlReport({ schemaVersion: 1, results: [] }).replace('</main>', '<img src="http://127.0.0.1:9/x.jpg"></main>');
    const file = path.join(tmp, 'tampered.html');
    fs.writeFileSync(file, html);
    const page = await context.newPage();
    const finished: string[] = [];
    const failed: string[] = [];
    const csp: string[] = [];
    page.on('requestfinished', (r) => finished.push(r.url()));
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await page.waitForTimeout(200);
    expect(finished.filter((u) => u.startsWith('http'))).toEqual([]);
    expect(failed).toEqual(['http://127.0.0.1:9/x.jpg csp']);
    expect(csp.length).toBeGreaterThan(0);
    await page.close();
  });
});
