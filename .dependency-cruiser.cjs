// The house rules for imports (issue 11): data flows one way, so every file under src/ sits on a floor and may import
// only from its own folder, the root modules, and folders on lower floors. Folders that share a floor (face and voice;
// scan and eval) must not import each other, so no two folders can form a cycle. Checked by
// test/architecture.test.ts (and `npx depcruise -c .dependency-cruiser.cjs src benchmarks scripts bin test examples`).

/** Bottom to top. Root modules (errors, types, validate, paths) are floor 0; index.ts is the public top. */
const FLOORS = [
  ['kernels'],
  ['models'],
  ['store'],
  ['media'],
  ['face', 'voice'],
  ['match'],
  ['report'],
  ['scan', 'eval'],
  ['enroll'],
  ['guard.ts'],
  ['jobs'],
  ['cli'],
  ['index.ts'],
];
const ROOT = ['errors.ts', 'types.ts', 'validate.ts', 'paths.ts'];

// Tests sit next to the behaviour they prove and may drive it through higher floors (a kernel test decodes real media).
const TEST = '\\.test\\.ts$';
const esc = (s) => s.replace(/\./g, '\\.');
const node = (name) => (name.endsWith('.ts') ? `^src/${esc(name)}$` : `^src/${name}/`);
const rules = [];
FLOORS.forEach((floor, i) => {
  const above = FLOORS.slice(i + 1).flat();
  for (const name of floor) {
    if (above.length) {
      rules.push({
        name: `no-upward-from-${name}`,
        comment: `${name} (floor ${i + 1}) may not import a higher floor: ${above.join(', ')}`,
        severity: 'error',
        from: { path: node(name), pathNot: TEST },
        to: { path: above.map(node).join('|') },
      });
    }
    const siblings = floor.filter((n) => n !== name);
    if (siblings.length) {
      rules.push({
        name: `no-sideways-from-${name}`,
        comment: `${name} shares its floor with ${siblings.join(', ')}; they must not import each other`,
        severity: 'error',
        from: { path: node(name), pathNot: TEST },
        to: { path: siblings.map(node).join('|') },
      });
    }
  }
});
rules.push(
  {
    name: 'root-modules-stay-at-the-bottom',
    comment: `the root modules (${ROOT.join(', ')}) import only each other`,
    severity: 'error',
    from: { path: `^src/(${ROOT.map(esc).join('|')})$` },
    to: { path: '^src/', pathNot: `^src/(${ROOT.map(esc).join('|')})$` },
  },
  {
    name: 'src-does-not-import-consumers',
    comment: 'library code never imports tests, benchmarks, scripts, examples or bin',
    severity: 'error',
    from: { path: '^src/', pathNot: TEST },
    to: { path: '^(test|benchmarks|scripts|examples|bin)/' },
  },
  { name: 'no-circular', comment: 'no import cycles between files', severity: 'error', from: {}, to: { circular: true } },
  { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
);

module.exports = {
  forbidden: rules,
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|build)/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json', '.node'] },
    moduleSystems: ['cjs', 'es6'],
  },
};
// Not part of dependency-cruiser's schema: read by test/architecture.test.ts for the folder-level cycle check.
Object.defineProperty(module.exports, 'floors', { value: { FLOORS, ROOT }, enumerable: false });
