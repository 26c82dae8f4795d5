import type * as NativeModule from '../../src/kernels';

/**
 * A fresh copy of src/native loaded with LIKENESS_NO_NATIVE=1 (the TS fallback a failed build leaves), handed to
 * `fn`; the environment is restored afterwards.
 */
export async function withoutNative<T>(fn: (mod: typeof NativeModule) => Promise<T>): Promise<T> {
  const saved = process.env['LIKENESS_NO_NATIVE'];
  process.env['LIKENESS_NO_NATIVE'] = '1';
  try {
    let mod!: typeof NativeModule;
    jest.isolateModules(() => {
      mod = require('../../src/kernels') as typeof NativeModule;
    });
    return await fn(mod);
  } finally {
    if (saved === undefined) delete process.env['LIKENESS_NO_NATIVE'];
    else process.env['LIKENESS_NO_NATIVE'] = saved;
  }
}
