// Screenshots of the demo report for the README: the page as a browser shows it, and page 1 of its print (PDF).
// usage: npm run screenshots:report   (runs the demo into a temp folder; writes docs/report-screen.png, docs/report-print.png)
// Needs Chromium (CHROMIUM_PATH or on PATH) and poppler-utils (pdftoppm).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { findChromium, renderPdf } from '../src/report/pdf';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const chromium = findChromium();
  if (!chromium) throw new Error('Chromium not found: apt-get install chromium, or set CHROMIUM_PATH');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-shots-'));
  try {
    const demo = spawnSync(process.execPath, ['-r', '@swc-node/register', path.join(root, 'examples', 'demo.ts')], { cwd: root, env: { ...process.env, DEMO_OUT: tmp }, stdio: 'inherit' });
    if (demo.status !== 0) throw new Error(`the demo failed (exit ${demo.status})`);
    const page = path.join(tmp, 'report.html');
    const out = path.join(root, 'docs');
    fs.mkdirSync(out, { recursive: true });
    const screen = path.join(out, 'report-screen.png');
    const shot = spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--user-data-dir=${path.join(tmp, 'profile')}`, '--window-size=1100,1500', `--screenshot=${screen}`, pathToFileURL(page).href], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (shot.status !== 0 || !fs.existsSync(screen)) throw new Error(`Chromium took no screenshot: ${shot.stderr?.toString().slice(-500)}`);
    const pdf = path.join(tmp, 'report.pdf');
    fs.writeFileSync(pdf, await renderPdf(fs.readFileSync(page, 'utf8')));
    const ppm = spawnSync('pdftoppm', ['-png', '-r', '70', '-f', '1', '-l', '1', '-singlefile', pdf, path.join(out, 'report-print')], { stdio: 'inherit' });
    if (ppm.status !== 0) throw new Error('pdftoppm failed (apt-get install poppler-utils)');
    console.log(`wrote ${path.relative(root, screen)} and docs/report-print.png`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
