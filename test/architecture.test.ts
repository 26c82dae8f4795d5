import { spawnSync } from 'child_process';
import * as path from 'path';

// The house rules (issue 11): every import of src/, benchmarks/, scripts/, bin/, examples/ and test/ (type-only
// imports included) read by dependency-cruiser with the rules in .dependency-cruiser.cjs (no file cycles, no import
// to a higher floor, no sideways import between folders of one floor), plus a folder-level cycle check here with each
// top-level folder of src/ as one node.

const ROOT = path.join(__dirname, '..');

interface Cruised {
  modules: { source: string; dependencies: { resolved: string; dependencyTypes: string[] }[] }[];
  summary: { violations: { from: string; to: string; rule: { name: string } }[]; totalCruised: number };
}

function cruise(): Cruised {
  const bin = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, '-c', '.dependency-cruiser.cjs', '--output-type', 'json', 'src', 'benchmarks', 'scripts', 'bin', 'examples', 'test'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return JSON.parse(r.stdout) as Cruised;
}

/** The node of a source file: its top-level folder under src/ (or the root file itself). */
function folderOf(file: string): string | null {
  const m = /^src\/([^/]+)(\/)?/.exec(file);
  if (!m) return null;
  return m[2] ? m[1]! : m[1]!;
}

/** Every cycle's members (strongly connected components of size > 1, or a self-loop), by Tarjan's algorithm. */
export function cycles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index), low.set(v, index++), stack.push(v), on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do (w = stack.pop()!), on.delete(w), comp.push(w);
      while (w !== v);
      if (comp.length > 1 || edges.get(v)?.has(v)) out.push(comp.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('architecture', () => {
  let result: Cruised;
  beforeAll(() => {
    result = cruise();
  });

  test('dependency-cruiser finds no rule violations over all source', () => {
    expect(result.summary.totalCruised).toBeGreaterThan(100);
    const violations = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    expect(violations).toEqual([]);
  });

  test('no cycle between the top-level folders of src/ (library code, type-only imports included)', () => {
    const edges = new Map<string, Set<string>>();
    for (const m of result.modules) {
      const from = folderOf(m.source);
      if (!from || m.source.endsWith('.test.ts')) continue;
      for (const d of m.dependencies) {
        const to = folderOf(d.resolved);
        if (!to || to === from) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
      }
    }
    expect(edges.size).toBeGreaterThan(8);
    expect(cycles(edges)).toEqual([]);
  });

  test('the cycle finder itself reports a planted cycle', () => {
    const g = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
  });
});
