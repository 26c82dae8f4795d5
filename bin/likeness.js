#!/usr/bin/env node
'use strict';
// The CLI ships compiled in dist/; running from a source checkout without a build falls back to swc on the fly.
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');

// onnxruntime reads /proc/self/cmdline when a model loads and crashes (SIGSEGV) on one over about 32 KB, as
// `likeness scan media/*.jpg` over a large folder gives. So a long command line is never the one that loads models:
// this process starts a child with a short command line and hands it the arguments as JSON through a pipe (fd 3).
const ARGV_FD_ENV = 'LIKENESS_ARGV_FD';
/** Bytes of arguments above which they travel through the pipe (well under the crash, above any normal use). */
const MAX_INLINE_ARGV = 8 * 1024;

function argsFromPipe() {
  const fd = Number(process.env[ARGV_FD_ENV]);
  delete process.env[ARGV_FD_ENV];
  const text = fs.readFileSync(fd, 'utf8');
  fs.closeSync(fd);
  const args = JSON.parse(text);
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw new Error('likeness: bad argument pipe');
  return args;
}

function relaunch(args) {
  const child = spawn(process.execPath, [...process.execArgv, __filename], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [ARGV_FD_ENV]: '3' },
  });
  child.stdio[3].end(JSON.stringify(args));
  // The child owns the terminal's signals as the process group does; a signal sent to this pid alone is passed on.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => {
    process.stderr.write(`likeness: cannot start: ${e.message}\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exitCode = code ?? 1;
  });
}

function run(args) {
  const dist = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
  if (fs.existsSync(dist)) {
    require(dist).main(args);
  } else {
    require('@swc-node/register');
    require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).main(args);
  }
}

if (process.env[ARGV_FD_ENV]) {
  run(argsFromPipe());
} else {
  const args = process.argv.slice(2);
  const bytes = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  if (bytes > MAX_INLINE_ARGV) relaunch(args);
  else run(args);
}
