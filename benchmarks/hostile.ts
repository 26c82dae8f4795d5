import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guard } from '../src/guard';
import { makeMalformedCorpus, type CorpusEntry } from '../test/fuzz/corpus';

// Issue #15: each file of the malformed corpus through `likeness scan` in its own process, timed by GNU time:
// wall and CPU seconds, and peak RSS as `/usr/bin/time -f %M` reports it (the largest process of the tree: node or an
// ffmpeg child). Targets: <= 60 s and <= 1 GB per file. The outcome (exit code, error code) is recorded too.
//
//   npm run bench:hostile -- [--corpus DIR] [--only REGEX] [--json FILE]
//
// Without --corpus the generator (test/fuzz/corpus.ts) writes a fresh corpus; with it, any folder of files is scanned
// (a held-out corpus, for example). The store has one face and one voice enrolled, so every pipeline runs.

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Row {
  file: string;
  cls: string;
  exit: number | null;
  code: string;
  wallS: number;
  cpuS: number;
  peakRssMB: number;
}

const BIN = path.join(__dirname, '..', 'bin', 'likeness.js');

function timed(args: string[], env: NodeJS.ProcessEnv): Promise<{ exit: number | null; wallS: number; cpuS: number; peakRssMB: number; stdout: string }> {
  return new Promise((resolve) => {
    const tf = path.join(os.tmpdir(), `lg-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const child = spawn('/usr/bin/time', ['-o', tf, '-f', '%e %U %S %M', process.execPath, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('close', (exit) => {
      clearTimeout(watchdog);
      const line = fs.existsSync(tf) ? fs.readFileSync(tf, 'utf8').trim().split('\n').pop() ?? '' : '';
      fs.rmSync(tf, { force: true });
      const [e, u, s, m] = line.split(/\s+/).map(Number);
      // time prints "Command exited with non-zero status N" before the figures; the last line holds them.
      resolve({ exit, wallS: e ?? NaN, cpuS: (u ?? NaN) + (s ?? NaN), peakRssMB: (m ?? NaN) / 1024, stdout });
    });
  });
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-hostile-'));
  const env = { ...process.env, LIKENESS_HOME: path.join(work, 'home'), LIKENESS_KEY: process.env.LIKENESS_KEY ?? '7c'.repeat(32) };
  Object.assign(process.env, env);
  try {
    const given = arg('corpus');
    let entries: CorpusEntry[];
    let refs: string[];
    const generated = path.join(work, 'corpus');
    const made = await makeMalformedCorpus(generated);
    refs = [path.join(generated, 'valid.jpg'), path.join(generated, '.src', 'speech16.wav')];
    if (given) {
      entries = fs.readdirSync(given).sort().map((n) => ({ file: path.join(given, n), cls: 'given', base: 'other' as const }));
    } else entries = made;
    const only = arg('only');
    if (only) entries = entries.filter((e) => new RegExp(only).test(path.basename(e.file)));
    const db = path.join(work, 'store.db');
    const g = await Guard.open({ db });
    await g.enroll({ name: 'Reference', noConsent: true }, refs);
    await g.close();
    const rows: Row[] = [];
    for (const e of entries) {
      const r = await timed(['scan', '--db', db, e.file], env);
      let code = 'ok';
      try {
        const rep = JSON.parse(r.stdout) as { results: { error?: { code: string } }[] };
        code = rep.results[0]?.error?.code ?? 'ok';
      } catch {
        code = r.exit === null ? 'HANG' : 'NO_JSON';
      }
      const row: Row = { file: path.basename(e.file), cls: e.cls, exit: r.exit, code, wallS: r.wallS, cpuS: +r.cpuS.toFixed(2), peakRssMB: +r.peakRssMB.toFixed(1) };
      rows.push(row);
      console.error(JSON.stringify(row));
    }
    const worst = (k: 'wallS' | 'cpuS' | 'peakRssMB'): Row => rows.reduce((a, b) => (b[k] > a[k] ? b : a));
    const byClass: Record<string, { files: number; maxWallS: number; maxRssMB: number }> = {};
    for (const r of rows) {
      const c = (byClass[r.cls] ??= { files: 0, maxWallS: 0, maxRssMB: 0 });
      c.files++;
      c.maxWallS = Math.max(c.maxWallS, r.wallS);
      c.maxRssMB = Math.max(c.maxRssMB, r.peakRssMB);
    }
    const summary = {
      files: rows.length,
      crashes: rows.filter((r) => r.code === 'NO_JSON' || r.code === 'HANG').length,
      internal: rows.filter((r) => r.code === 'E_INTERNAL').length,
      exitCodes: rows.reduce<Record<string, number>>((m, r) => ((m[String(r.exit)] = (m[String(r.exit)] ?? 0) + 1), m), {}),
      maxWall: worst('wallS'),
      maxCpu: worst('cpuS'),
      maxRss: worst('peakRssMB'),
      overTargets: rows.filter((r) => r.wallS > 60 || r.peakRssMB > 1024),
      byClass,
    };
    const out = { summary, rows };
    const json = arg('json');
    if (json) fs.writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
