import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { HelpRequested, helpText } from '../../src/cli/args';
import type { CommandIO } from '../../src/cli/command';
import { commands } from '../../src/cli/main';

// Issue 14 item 7: `likeness help COMMAND` and `COMMAND --help` list every option the command's parser accepts. The
// text is made from the parser's own option table (HelpRequested carries it), so this checks every command.

const root = path.join(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'likeness.js');
const silent: CommandIO = { out: () => undefined, err: () => undefined, status: () => undefined, isTTY: false };

async function helpOf(words: string): Promise<HelpRequested> {
  try {
    await commands[words]!(['--help'], silent);
  } catch (e) {
    if (e instanceof HelpRequested) return e;
    throw e;
  }
  throw new Error(`${words} --help did not ask for help`);
}

test('every command answers --help with its usage and every option its parser accepts', async () => {
  const words = Object.keys(commands);
  expect(words.length).toBeGreaterThanOrEqual(15);
  for (const w of words) {
    const h = await helpOf(w);
    expect(h.text).toMatch(new RegExp(`^usage: (LIKENESS_KEY=\\S+ LIKENESS_NEW_KEY=\\S+ )?likeness ${w}\\b`));
    expect(h.text.split('\n\noptions:')[0]).not.toMatch(/\| likeness /); // one command per usage
    const names = Object.keys(h.options);
    for (const name of names) {
      const o = h.options[name]!;
      const line = h.text.split('\n').find((l) => new RegExp(`^  (-\\w, )?--${name}( |$)`).test(l));
      expect({ command: w, option: name, line }).toEqual({ command: w, option: name, line: expect.any(String) });
      if (o.type === 'string') expect(line).toMatch(new RegExp(`--${name} \\S+`));
      if (o.short) expect(line).toContain(`-${o.short}, --${name}`);
      if (o.multiple) expect(line).toContain('(repeatable)');
    }
    // -h and `help` both give the same text; `--` ends options (a file named --help can still be scanned).
    await expect(commands[w]!(['-h'], silent)).rejects.toBeInstanceOf(HelpRequested);
  }
});

test('the option lines come from the table: a value is named from the usage, else VALUE', () => {
  const t = helpText('likeness x [--db PATH] [--preset accurate|fast] [--consent-file FILE.json]. --tag', { db: { type: 'string' }, preset: { type: 'string' }, all: { type: 'boolean' }, tag: { type: 'string', multiple: true }, 'consent-file': { type: 'string' } });
  expect(t.split('\n').slice(3)).toEqual(['  --all', '  --consent-file FILE.json', '  --db PATH', '  -h, --help   this help', '  --preset accurate|fast', '  --tag VALUE (repeatable)']);
});

test('through the CLI: `help COMMAND` equals `COMMAND --help`; --version prints the package version', () => {
  const run = (...a: string[]) => spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8', cwd: root, timeout: 120_000 });
  const a = run('help', 'scan');
  const b = run('scan', '--help');
  expect(a.status).toBe(0);
  expect(b.status).toBe(0);
  expect(a.stdout).toBe(b.stdout);
  for (const o of ['--skip-seen', '--jsonl', '--max-pixels', '--concurrency']) expect(a.stdout).toContain(o);
  const e = run('help', 'eval', 'faces');
  expect(e.status).toBe(0);
  expect(e.stdout).toContain('--pairs FILE.csv');
  const v = run('--version');
  expect(v.status).toBe(0);
  expect(v.stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version);
  const u = run('help', 'nonesuch');
  expect(u.status).toBe(1);
  expect(u.stderr).toMatch(/unknown command "nonesuch/);
});
