import * as fs from 'fs';
import * as path from 'path';
import { parseCsv } from '../src/eval/csv';

// Where the face benchmarks find images: ../shared/eval/faces (internal evaluation data, read in place, never copied),
// else sample photos shipped inside the MIT-licensed @vladmandic/face-api package (read from node_modules).

/** ../shared/eval/faces relative to the repository root, when present. */
export function evalFacesRoot(): string | undefined {
  const root = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'faces');
  return fs.existsSync(path.join(root, 'identities.csv')) ? root : undefined;
}

/** Rows of a CSV file with a header, as objects keyed by column name. */
export function readCsvRows(file: string): Record<string, string>[] {
  const rows = parseCsv(fs.readFileSync(file, 'utf8')).filter((r) => r.length > 1 || (r[0] ?? '').trim() !== '');
  const header = (rows.shift() ?? []).map((h) => h.trim());
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, (r[i] ?? '').trim()])));
}

/** `n` items spread evenly over `items` (all of them when n >= length). */
export function spread<T>(items: T[], n: number): T[] {
  if (n >= items.length) return items.slice();
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(items[Math.floor((i * items.length) / n)]);
  return out;
}

/** Photos with faces shipped in @vladmandic/face-api (MIT; demo/sample1-6.jpg), or [] when it is not installed. */
export function packageSampleImages(): string[] {
  try {
    const dir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
    return fs
      .readdirSync(dir)
      .filter((f) => /^sample\d+\.jpg$/.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `x` rounded to `d` decimals. */
export function round(x: number, d = 1): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Value of `--name V` in argv, or undefined. */
export function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
}
