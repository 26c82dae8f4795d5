import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ffmpegInfo, ffmpegWarnings, locateTool, missingToolError, parseFfmpegVersion } from '../../src/media/ffmpeg';

// Issue 14 item 6: consumers use the system ffmpeg; the static packages are devDependencies, a fallback only when
// installed; a clear E_FFMPEG names both fixes when there is none; doctor warns about ffmpeg older than 5.

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-ffloc-'));
const fakeBin = path.join(dir, 'bin');
fs.mkdirSync(fakeBin);
for (const t of ['ffmpeg', 'ffprobe']) {
  fs.writeFileSync(path.join(fakeBin, t), '#!/bin/sh\necho "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers"\n', { mode: 0o755 });
}
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the static ffmpeg/ffprobe packages are devDependencies only (npm installs optional ones too)', () => {
  for (const p of ['@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe']) {
    expect(pkg.dependencies[p]).toBeUndefined();
    expect(pkg.optionalDependencies?.[p]).toBeUndefined();
    expect(pkg.devDependencies[p]).toBeDefined();
  }
});

test('order: FFMPEG_PATH, then the system binary on PATH, then an installed static package, else none', () => {
  const installer = (p: string): string => `/static/${p}`;
  expect(locateTool('ffmpeg', { env: { FFMPEG_PATH: '/opt/ff', PATH: fakeBin }, installer })).toEqual({ path: '/opt/ff', source: 'env' });
  expect(locateTool('ffprobe', { env: { FFPROBE_PATH: '/opt/fp', PATH: fakeBin }, installer })).toEqual({ path: '/opt/fp', source: 'env' });
  expect(locateTool('ffmpeg', { env: { PATH: fakeBin }, installer })).toEqual({ path: path.join(fakeBin, 'ffmpeg'), source: 'path' });
  expect(locateTool('ffprobe', { env: { PATH: dir }, installer })).toEqual({ path: '/static/@ffprobe-installer/ffprobe', source: 'installer' });
  expect(locateTool('ffmpeg', { env: { PATH: dir }, installer: () => undefined })).toBeUndefined();
});

test('no ffmpeg at all: E_FFMPEG names both fixes (the OS package manager, or FFMPEG_PATH / FFPROBE_PATH)', () => {
  for (const [tool, envVar] of [['ffmpeg', 'FFMPEG_PATH'], ['ffprobe', 'FFPROBE_PATH']] as const) {
    const e = missingToolError(tool);
    expect(e.code).toBe('E_FFMPEG');
    expect(e.message).toMatch(/package manager/);
    expect(e.message).toMatch(/apt install ffmpeg/);
    expect(e.message).toContain(envVar);
  }
  const info = ffmpegInfo({ env: { PATH: dir }, installer: () => undefined });
  expect(info).toEqual({ path: null, source: null, version: null, major: null });
  expect(ffmpegWarnings(info).join('\n')).toMatch(/package manager.*FFMPEG_PATH/s);
});

test('a real decode with no ffmpeg anywhere fails with that E_FFMPEG (child process: PATH empty, no static package)', () => {
  // The child refuses to resolve the static packages, as in a consumer's install where the devDependency is absent.
  const r = spawnSync(
    process.execPath,
    ['-r', '@swc-node/register', '-e', `
      const Module = require('module');
      const orig = Module._resolveFilename;
      Module._resolveFilename = function (req, ...rest) { if (/installer/.test(req)) throw new Error('not installed'); return orig.call(this, req, ...rest); };
      require(${JSON.stringify(path.join(root, 'src', 'media', 'ffmpeg.ts'))}).probeMedia(${JSON.stringify(path.join(fakeBin, 'ffmpeg'))})
        .then(() => console.log('no error'), (e) => console.log(e.code + ': ' + e.message));`],
    { encoding: 'utf8', cwd: root, env: { ...process.env, PATH: dir, FFMPEG_PATH: '', FFPROBE_PATH: '' }, timeout: 120_000 },
  );
  expect(r.stdout).toMatch(/^E_FFMPEG: ffprobe not found.*package manager.*FFPROBE_PATH/s);
});

test('doctor warns about ffmpeg older than 5, including git builds dated before 5.0', () => {
  expect(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers')).toEqual({ version: '5.1.9-0+deb12u1', major: 5 });
  expect(parseFfmpegVersion('ffmpeg version n6.1 Copyright (c) 2000-2023')).toEqual({ version: 'n6.1', major: 6 });
  expect(parseFfmpegVersion('ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2018 the FFmpeg developers').major).toBe(4);
  expect(parseFfmpegVersion('ffmpeg version N-110000-gabc Copyright (c) 2000-2023 the FFmpeg developers').major).toBe(6);
  expect(parseFfmpegVersion('not ffmpeg')).toEqual({ version: null, major: null });
  const old = ffmpegInfo({ env: { PATH: fakeBin } });
  expect(old).toMatchObject({ path: path.join(fakeBin, 'ffmpeg'), source: 'path', version: '4.4.2-0ubuntu0.22.04.1', major: 4 });
  expect(ffmpegWarnings(old)).toEqual([expect.stringMatching(/4\.4\.2.* is older than 5: install ffmpeg 5 or newer with the OS package manager, or set FFMPEG_PATH/)]);
  expect(ffmpegWarnings({ ...old, version: '6.0', major: 6 })).toEqual([]);
});
