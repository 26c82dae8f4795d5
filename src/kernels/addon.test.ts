import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { addonCandidates, nativeInfo } from './addon';

// Issue 14 item 5: the loader tries the prebuilt addon (prebuildify, inside the package), then a node-gyp build,
// then none (the TypeScript twins run); doctor says which.

const glibc = typeof (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime === 'string';

test('order: prebuilt for this platform and libc, then build/Release, then build/Debug', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-addon-'));
  try {
    const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    fs.mkdirSync(pre, { recursive: true });
    fs.mkdirSync(path.join(root, 'prebuilds', 'other-arch'), { recursive: true });
    for (const f of ['likeness-guard.glibc.node', 'likeness-guard.musl.node', 'README']) fs.writeFileSync(path.join(pre, f), '');
    fs.writeFileSync(path.join(root, 'prebuilds', 'other-arch', 'likeness-guard.node'), '');
    for (const d of ['Debug', 'Release']) {
      fs.mkdirSync(path.join(root, 'build', d), { recursive: true });
      fs.writeFileSync(path.join(root, 'build', d, 'likeness_native.node'), '');
    }
    const libc = process.platform !== 'linux' ? null : glibc ? 'glibc' : 'musl';
    const prebuilt = libc ? [`likeness-guard.${libc}.node`] : ['likeness-guard.glibc.node', 'likeness-guard.musl.node'];
    expect(addonCandidates(root)).toEqual([
      ...prebuilt.map((n) => ({ source: 'prebuilt', file: path.join(pre, n) })),
      { source: 'node-gyp', file: path.join(root, 'build', 'Release', 'likeness_native.node') },
      { source: 'node-gyp', file: path.join(root, 'build', 'Debug', 'likeness_native.node') },
    ]);
    fs.rmSync(path.join(root, 'prebuilds'), { recursive: true });
    fs.rmSync(path.join(root, 'build'), { recursive: true });
    expect(addonCandidates(root)).toEqual([]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('nativeInfo names the source and file of the addon in use, or why none is', () => {
  const n = nativeInfo();
  if (n.available) {
    expect(['prebuilt', 'node-gyp']).toContain(n.source);
    expect(fs.existsSync(n.file!)).toBe(true);
    expect(addonCandidates().map((c) => c.file)).toContain(n.file);
  } else {
    expect(n.source).toBeUndefined();
    expect(n.reason).toMatch(/LIKENESS_NO_NATIVE|node-gyp rebuild/);
  }
});
