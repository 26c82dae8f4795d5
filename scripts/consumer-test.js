#!/usr/bin/env node
'use strict';
// `npm run test:consumer` (issue 14 items 4 and 5): packs the tarball exactly as `npm publish` would (prepack builds
// the prebuilt addon with prebuildify, prepare compiles dist/), installs it into a scratch consumer with no C++
// compiler on PATH (`npm init -y; ONNXRUNTIME_NODE_INSTALL=skip npm install TGZ typescript@5 @types/node@20`),
// type-checks a small program against the published declarations (strict, skipLibCheck false; module commonjs with
// moduleResolution node10, and node16), runs it, and prints `du -sm node_modules`. Exits 1 when a check fails.
//
// One stand-in: better-sqlite3's install downloads its prebuilt binary from GitHub, which this machine cannot reach.
// The script hands prebuild-install the same file through its documented offline switch
// (npm_config_better_sqlite3_local_prebuilds), made from the clone's own better-sqlite3 build; a consumer with
// network access gets it from GitHub. Our own addon needs no such help: it ships inside the tarball.
//
// Options (env): LIKENESS_CONSUMER_DIR=DIR keep the scratch folder there (default: a temp folder, removed on success);
// LIKENESS_CONSUMER_TS_LATEST=0 skip the extra check with the newest TypeScript; LIKENESS_CONSUMER_MAX_MB (500).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const work = process.env.LIKENESS_CONSUMER_DIR ? path.resolve(process.env.LIKENESS_CONSUMER_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), 'lg-consumer-'));
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const maxMb = Number(process.env.LIKENESS_CONSUMER_MAX_MB || 500);
const npmCli = process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath) ? process.env.npm_execpath : path.join(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

const checks = [];
const figures = {};
function check(name, ok, detail) {
  checks.push({ name, ok: Boolean(ok), ...(detail !== undefined && !ok ? { detail } : {}) });
  process.stderr.write(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail !== undefined && !ok ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}\n`);
}
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  return { status: r.status, stdout: r.stdout || '', stderr: (r.stderr || '') + (r.error ? String(r.error) : '') };
}
function tail(s, n = 2000) {
  return s.length > n ? s.slice(-n) : s;
}

// 1. Pack (the repository's own toolchain builds the prebuilt addon here; the consumer needs none).
const packEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
const pack = run(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', work], { cwd: root, env: packEnv });
let tgz;
try {
  const json = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
  tgz = path.join(work, json[0].filename);
  figures.tarballMB = +(fs.statSync(tgz).size / 2 ** 20).toFixed(1);
  figures.unpackedMB = +(json[0].unpackedSize / 2 ** 20).toFixed(1);
  figures.tarballFiles = json[0].entryCount;
} catch {
  check('npm pack', false, tail(pack.stderr));
  finish();
}
check('npm pack', pack.status === 0 && fs.existsSync(tgz), tail(pack.stderr));
figures.tarball = path.basename(tgz);

// 2. What the tarball holds: the prebuilt addon, declarations, only the default models, no tests or scripts.
const list = run('tar', ['tzf', tgz]).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
const prebuilt = list.filter((f) => /^prebuilds\/linux-x64\/.+\.node$/.test(f));
if (process.platform === 'linux' && process.arch === 'x64') check('tarball has the prebuilt linux-x64 addon', prebuilt.length === 1, prebuilt);
check('tarball has dist/index.d.ts and dist/kernels/index.d.ts', list.includes('dist/index.d.ts') && list.includes('dist/kernels/index.d.ts'));
check('tarball has no tests, scripts, benchmarks or examples', !list.some((f) => /^(test|scripts|benchmarks|examples|src\/(?!kernels\/cc\/))/.test(f) || /\.test\.(js|d\.ts)$/.test(f)), list.filter((f) => /^(test|scripts|benchmarks|examples)\//.test(f)));
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8'));
const vendored = manifest.models.filter((m) => m.source.kind === 'vendored').map((m) => m.source.path);
const packedModels = list.filter((f) => /^models\/.+\.onnx$/.test(f));
check('tarball ships exactly the vendored manifest models', JSON.stringify([...packedModels].sort()) === JSON.stringify([...vendored].sort()), { packedModels, vendored });

// 3. The consumer: npm init -y; npm install TGZ typescript@5 @types/node@20, with no compiler on PATH.
const consumer = path.join(work, 'consumer');
const noCc = path.join(work, 'no-compiler-bin');
fs.mkdirSync(consumer);
fs.mkdirSync(noCc);
fs.symlinkSync(process.execPath, path.join(noCc, 'node'));
// npm runs install scripts with `sh` from PATH; a shell is not a compiler.
fs.symlinkSync('/bin/sh', path.join(noCc, 'sh'));
const bareEnv = { HOME: process.env.HOME || os.homedir(), PATH: noCc, LANG: 'C.UTF-8', ONNXRUNTIME_NODE_INSTALL: 'skip' };
if (process.env.npm_config_cache) bareEnv.npm_config_cache = process.env.npm_config_cache;
const compilers = run('/bin/sh', ['-c', 'for t in cc gcc g++ c++ clang clang++ make python3 python; do command -v $t; done; true'], { env: bareEnv });
check('no compiler, make or python on the install PATH', compilers.stdout.trim() === '', compilers.stdout.trim());


const init = run(process.execPath, [npmCli, 'init', '-y'], { cwd: consumer, env: bareEnv });
const installArgs = [tgz, 'typescript@5', '@types/node@20', '--no-audit', '--no-fund', '--prefer-offline'];
check('npm init -y', init.status === 0, tail(init.stderr));
// The stand-in for better-sqlite3's GitHub download: its binary for the version the consumer will resolve, built
// here once (with the clone's toolchain, outside the consumer) and cached in the temp folder.
// The version is the one the consumer's own resolution picks (a lock-only pass of the same install command).
const lockOnly = run(process.execPath, [npmCli, 'install', ...installArgs, '--package-lock-only'], { cwd: consumer, env: bareEnv });
let bs3Version;
try {
  bs3Version = JSON.parse(fs.readFileSync(path.join(consumer, 'package-lock.json'), 'utf8')).packages['node_modules/better-sqlite3'].version;
} catch {
  check('resolve the consumer tree (npm install --package-lock-only)', false, tail(lockOnly.stdout + lockOnly.stderr));
  finish();
}
figures.betterSqlite3 = bs3Version;
const bs3Dir = path.join(os.tmpdir(), 'lg-better-sqlite3-prebuilds');
const bs3Name = `better-sqlite3-v${bs3Version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
if (!fs.existsSync(path.join(bs3Dir, bs3Name))) {
  const stage = path.join(work, 'better-sqlite3-build');
  fs.mkdirSync(stage, { recursive: true });
  const local = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', 'better-sqlite3', 'package.json'), 'utf8')).version;
  let binary = path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (local !== bs3Version) {
    const p = run(process.execPath, [npmCli, 'pack', `better-sqlite3@${bs3Version}`, '--prefer-offline'], { cwd: stage, env: process.env });
    run('tar', ['xzf', path.join(stage, p.stdout.trim().split('\n').pop()), '-C', stage]);
    const gyp = path.join(path.dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    // Against this Node's own headers: node-gyp must never try to download them (offline here and on CI).
    const nodedir = path.resolve(process.execPath, '..', '..');
    const headers = fs.existsSync(path.join(nodedir, 'include', 'node', 'node.h')) ? [`--nodedir=${nodedir}`] : [];
    const b = run(process.execPath, [gyp, 'rebuild', '--release', ...headers], { cwd: path.join(stage, 'package'), env: process.env });
    if (b.status !== 0) check(`build better-sqlite3 ${bs3Version} for the stand-in download`, false, tail(b.stdout + b.stderr));
    binary = path.join(stage, 'package', 'build', 'Release', 'better_sqlite3.node');
  }
  const tarRoot = path.join(stage, 'tar');
  fs.mkdirSync(path.join(tarRoot, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(binary, path.join(tarRoot, 'build', 'Release', 'better_sqlite3.node'));
  fs.mkdirSync(bs3Dir, { recursive: true });
  run('tar', ['czf', path.join(bs3Dir, bs3Name), '-C', tarRoot, 'build']);
}
const installEnv = { ...bareEnv, npm_config_better_sqlite3_local_prebuilds: bs3Dir };
const install = run(process.execPath, [npmCli, 'install', ...installArgs, '--foreground-scripts'], { cwd: consumer, env: installEnv });
fs.writeFileSync(path.join(work, 'install.log'), install.stdout + install.stderr);
check('npm install TGZ typescript@5 @types/node@20 (no compiler)', install.status === 0, tail(install.stdout + install.stderr));
const nm = path.join(consumer, 'node_modules');
const pkgDir = path.join(nm, 'likeness-guard');
check('our addon was not compiled at install (no build/ folder)', !fs.existsSync(path.join(pkgDir, 'build')));
for (const p of ['@ffmpeg-installer', '@ffprobe-installer', '@tensorflow', '@vladmandic']) check(`consumer has no ${p}`, !fs.existsSync(path.join(nm, p)));
// No third-party types leak: the declarations reachable from the entry points import only Node's own modules.
const leaks = declarationImports(pkgDir, ['dist/index.d.ts', 'dist/kernels/index.d.ts']).filter((m) => !require('module').isBuiltin(m));
check('published declarations import no third-party types', leaks.length === 0, leaks);
figures.typescript = readVersion(path.join(nm, 'typescript'));
figures.typesNode = readVersion(path.join(nm, '@types', 'node'));

// 4. A small program against the published declarations.
fs.writeFileSync(
  path.join(consumer, 'main.ts'),
  `import { Guard, isLikenessError, SCAN_SCHEMA_VERSION, type DoctorReport, type EnrollReport, type ScanResult, type ScanFailure } from 'likeness-guard';
import { nativeInfo, type NativeInfo } from 'likeness-guard/kernels';

async function main(): Promise<void> {
  const [photo, db] = process.argv.slice(2);
  if (!photo || !db) throw new Error('usage: main PHOTO DB');
  const doctor: DoctorReport = await Guard.doctor({ db });
  const native: NativeInfo = nativeInfo();
  const guard = await Guard.open({ db });
  try {
    const enrolled: EnrollReport = await guard.enroll({ name: 'Consumer test', noConsent: true }, [photo], { largest: true });
    const scanned: ScanResult | ScanFailure = await guard.scan(photo);
    const found = 'error' in scanned ? scanned.error.code : scanned.verdicts.map((v) => \`\${v.name}:\${v.decision}\`);
    console.log(JSON.stringify({ schema: SCAN_SCHEMA_VERSION, native, ffmpeg: doctor.ffmpeg, warnings: doctor.warnings, models: enrolled.models, accepted: enrolled.accepted.length, found }));
  } finally {
    await guard.close();
  }
}

main().catch((e: unknown) => {
  console.error(isLikenessError(e) ? \`\${e.code}: \${e.message}\` : e);
  process.exit(1);
});
`,
);
const base = { strict: true, skipLibCheck: false, target: 'es2022', types: ['node'], noEmitOnError: true };
const configs = {
  node10: { ...base, module: 'commonjs', moduleResolution: 'node10', outDir: 'out' },
  // TypeScript >= 5.2 requires module node16 with moduleResolution node16; in a "type": "commonjs" package it emits CommonJS.
  node16: { ...base, module: 'node16', moduleResolution: 'node16', noEmit: true },
};
for (const [name, co] of Object.entries(configs)) fs.writeFileSync(path.join(consumer, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions: co, files: ['main.ts'] }, null, 2));
const tsc = path.join(nm, 'typescript', 'bin', 'tsc');
figures.typecheck = {};
for (const name of Object.keys(configs)) {
  const r = run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: consumer, env: bareEnv });
  figures.typecheck[`ts${figures.typescript}-${name}`] = r.status === 0 ? 'clean' : `${(r.stdout.match(/error TS/g) || []).length} errors`;
  check(`tsc ${figures.typescript} strict, skipLibCheck false, ${name}`, r.status === 0, tail(r.stdout + r.stderr));
}

// The newest TypeScript on the day, installed beside the consumer (not counted in its node_modules).
if (process.env.LIKENESS_CONSUMER_TS_LATEST !== '0') {
  const latestDir = path.join(work, 'ts-latest');
  fs.mkdirSync(latestDir);
  run(process.execPath, [npmCli, 'init', '-y'], { cwd: latestDir, env: installEnv });
  const li = run(process.execPath, [npmCli, 'install', 'typescript@latest', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: latestDir, env: installEnv });
  const ver = readVersion(path.join(latestDir, 'node_modules', 'typescript'));
  figures.typescriptLatest = ver;
  if (li.status !== 0 || !ver) check('install typescript@latest', false, tail(li.stderr));
  else {
    const ltsc = path.join(latestDir, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const name of Object.keys(configs)) {
      const r = run(process.execPath, [ltsc, '-p', `tsconfig.${name}.json`, '--noEmit'], { cwd: consumer, env: bareEnv });
      const out = r.stdout + r.stderr;
      // node10 resolution was removed after TypeScript 5 (TS5107/TS5108 name the option itself, not our types).
      const optionGone = name === 'node10' && /error TS51\d\d/.test(out) && !/error TS(?!51\d\d)\d+/.test(out);
      figures.typecheck[`ts${ver}-${name}`] = r.status === 0 ? 'clean' : optionGone ? 'option removed in this TypeScript' : `${(out.match(/error TS/g) || []).length} errors`;
      if (!optionGone) check(`tsc ${ver} strict, skipLibCheck false, ${name}`, r.status === 0, tail(out));
    }
  }
}

// 5. Run it (the normal PATH: the system ffmpeg is the consumer's).
const photo = path.join(consumer, 'face.jpg');
fs.copyFileSync(path.join(root, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg'), photo);
const runEnv = { ...process.env, LIKENESS_HOME: path.join(consumer, 'home'), LIKENESS_KEY: 'ab'.repeat(32) };
delete runEnv.FFMPEG_PATH;
delete runEnv.FFPROBE_PATH;
const prog = run(process.execPath, ['out/main.js', photo, path.join(consumer, 'store.db')], { cwd: consumer, env: runEnv });
let out = null;
try {
  out = JSON.parse(prog.stdout.trim().split('\n').pop());
} catch {
  out = null;
}
check('the program runs', prog.status === 0 && out !== null, tail(prog.stdout + prog.stderr));
if (out) {
  figures.program = out;
  check('the prebuilt addon is in use', out.native.available && out.native.source === 'prebuilt', out.native);
  check('enroll names its models', typeof out.models.face === 'string' && typeof out.models.voice === 'string', out.models);
  check('a face was enrolled and found again', out.accepted >= 1 && Array.isArray(out.found) && out.found.some((f) => f.startsWith('Consumer test:')), out.found);
  check('ffmpeg is the system one (no static package in a consumer)', out.ffmpeg.path === null || out.ffmpeg.source !== 'installer', out.ffmpeg);
}

// 6. Size, and the prebuilt addon's glibc / libstdc++ floor.
const du = run('du', ['-sm', nm]).stdout.trim();
figures.nodeModulesMB = Number(du.split(/\s+/)[0]);
process.stdout.write(`du -sm node_modules: ${du}\n`);
const parts = run('/bin/sh', ['-c', `cd ${JSON.stringify(nm)} && du -sm * @*/* 2>/dev/null | sort -rn | head -8`]).stdout.trim();
figures.largest = parts.split('\n').map((l) => l.replace('\t', ' '));
check(`node_modules <= ${maxMb} MB`, figures.nodeModulesMB <= maxMb, du);
const installedPrebuilt = path.join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`);
if (fs.existsSync(installedPrebuilt)) {
  const node = fs.readdirSync(installedPrebuilt).find((f) => f.endsWith('.node'));
  const sym = run('objdump', ['-T', path.join(installedPrebuilt, node)]);
  if (sym.status === 0) {
    const maxOf = (re) => [...new Set(sym.stdout.match(re) || [])].sort((a, b) => cmpVer(a.split('_').pop(), b.split('_').pop())).pop();
    figures.prebuiltFloor = { glibc: maxOf(/GLIBC_[0-9.]+/g), libstdcxx: maxOf(/GLIBCXX_[0-9.]+/g) };
  }
}
finish();

function cmpVer(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  return 0;
}
function declarationImports(dir, entries) {
  const seen = new Set();
  const bare = new Set();
  const visit = (f) => {
    if (seen.has(f) || !fs.existsSync(f)) return;
    seen.add(f);
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/(?:from\s+|import\(\s*|require\(\s*|reference types=)['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      if (!spec.startsWith('.')) bare.add(spec);
      else {
        const p = path.resolve(path.dirname(f), spec);
        visit(fs.existsSync(p + '.d.ts') ? p + '.d.ts' : path.join(p, 'index.d.ts'));
      }
    }
  };
  for (const e of entries) visit(path.join(dir, e));
  return [...bare];
}
function readVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}
function finish() {
  const failed = checks.filter((c) => !c.ok);
  const result = { ok: failed.length === 0, node: process.version, figures, checks, work };
  fs.writeFileSync(path.join(work, 'consumer-result.json'), JSON.stringify(result, null, 2));
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  if (failed.length === 0 && !process.env.LIKENESS_CONSUMER_DIR) fs.rmSync(work, { recursive: true, force: true });
  process.exit(failed.length === 0 ? 0 : 1);
}
