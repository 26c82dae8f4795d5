import { LikenessError } from '../../src/errors';

/** The code of the LikenessError `f` throws, `'untyped'` for any other exception, undefined when it returns. */
export function thrownCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof LikenessError ? e.code : 'untyped';
  }
  return undefined;
}
