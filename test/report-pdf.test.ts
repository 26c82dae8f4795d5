import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { renderHtmlReport } from '../src/report/html';
import { findChromium, renderPdf } from '../src/report/pdf';
import { isScanFailure, type ScanResult } from '../src/report/schema';
import { makeTmpDir } from './helpers/media';
import { testIf } from './helpers/requires';
import { sampleReport } from './report-fixtures';

// The printable report: Chromium headless prints the page (--print-to-pdf); poppler-utils reads the PDF back.
const chromium = findChromium();
const poppler = ['pdftoppm', 'pdftotext'].every((t) => spawnSync(t, ['-v'], { encoding: 'utf8' }).error === undefined);

testIf(chromium !== null && poppler, 'Chromium and poppler-utils (pdftoppm, pdftotext)')('the PDF renders: pages come out and the text has every performer name in the JSON', async () => {
  const { dir, cleanup } = makeTmpDir('likeness-pdf-');
  try {
    const file = await sampleReport();
    const pdf = await renderPdf(renderHtmlReport(file, { generatedAt: '2026-12-02T00:00:00Z' }));
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const out = path.join(dir, 'report.pdf');
    fs.writeFileSync(out, pdf);
    const ppm = spawnSync('pdftoppm', ['-r', '30', '-png', out, path.join(dir, 'page')], { encoding: 'utf8' });
    expect(ppm.status).toBe(0);
    const pages = fs.readdirSync(dir).filter((f) => /^page-\d+\.png$/.test(f));
    expect(pages.length).toBeGreaterThanOrEqual(1);
    const text = spawnSync('pdftotext', ['-layout', out, '-'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ');
    const names = new Set(file.results.filter((r): r is ScanResult => !isScanFailure(r)).flatMap((r) => r.matches.map((m) => m.name)));
    expect(names.size).toBe(2);
    // Names with markup in them come out as text (escaped in the page, printed literally).
    for (const n of names) expect(text).toContain(n.replace(/\s+/g, ' '));
    expect(text).toContain('Decision rule');
  } finally {
    cleanup();
  }
});

test('without Chromium a PDF is E_UNSUPPORTED with the fix', async () => {
  await expect(renderPdf('<p>x</p>', { chromium: '/nonexistent/chromium' })).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/apt-get install chromium.*CHROMIUM_PATH/) });
  expect(findChromium('/nonexistent/chromium')).toBeNull();
});
