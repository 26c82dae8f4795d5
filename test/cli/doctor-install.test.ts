import { spawnSync } from 'child_process';
import * as path from 'path';
import { nativeInfo } from '../../src/kernels/addon';
import { ffmpegInfo } from '../../src/media/ffmpeg';
import { makeTmpDir } from '../helpers/media';

// Issue 14 items 5 and 6 through the CLI: doctor says which addon is in use and which ffmpeg, with its version.

const tmp = makeTmpDir('lg-doctor-');
afterAll(() => tmp.cleanup());

test('likeness doctor reports the addon source and the ffmpeg in use', () => {
  const bin = path.join(__dirname, '..', '..', 'bin', 'likeness.js');
  const env = { ...process.env, LIKENESS_HOME: path.join(tmp.dir, 'home'), LIKENESS_KEY: 'ab'.repeat(32) };
  const r = spawnSync(process.execPath, [bin, 'doctor', '--db', path.join(tmp.dir, 's.db')], { encoding: 'utf8', env, timeout: 300_000 });
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout) as { native: { available: boolean; source?: string }; ffmpeg: { path: string | null; source: string | null; major: number | null } };
  const n = nativeInfo();
  expect(j.native.source).toBe(n.source);
  expect(r.stderr).toContain(n.available ? `native kernels: ${n.source === 'prebuilt' ? 'prebuilt addon' : 'node-gyp build'} (${n.file}` : 'native kernels: TypeScript twins');
  const f = ffmpegInfo();
  expect(j.ffmpeg).toEqual(f);
  expect(r.stderr).toContain(f.path ? `ffmpeg: ${f.version} (${f.path}, ${f.source})` : 'ffmpeg: not found');
  if (f.major !== null && f.major < 5) expect(r.stderr).toMatch(/older than 5/);
  else expect(r.stderr).not.toMatch(/older than 5/);
});
