// Tests that need something outside the project (the native addon, ../shared/eval, espeak-ng, Chromium, PostgreSQL)
// skip cleanly where it is missing, but fail under the variables .ci/run sets, so CI can never pass by skipping:
// LIKENESS_STRICT=1 for everything, LIKENESS_REQUIRE_NATIVE=1 for the addon alone.

/** True when a missing `what` must fail the run instead of skipping. */
export function strict(what: 'native' | 'other' = 'other'): boolean {
  // A run with the addon switched off on purpose (LIKENESS_NO_NATIVE=1, the twin-only pass of .ci/run) cannot need it.
  if (what === 'native' && process.env['LIKENESS_NO_NATIVE'] === '1') return false;
  return process.env['LIKENESS_STRICT'] === '1' || (what === 'native' && process.env['LIKENESS_REQUIRE_NATIVE'] === '1');
}

function missing(what: string, kind: 'native' | 'other'): string {
  return `${what} is missing, and ${kind === 'native' ? 'LIKENESS_REQUIRE_NATIVE=1 / ' : ''}LIKENESS_STRICT=1 requires it`;
}

/**
 * `test` when `present`; otherwise `test.skip`, or, in strict mode, a test of the same name that fails saying what is
 * missing.
 */
export function testIf(present: boolean, what: string, kind: 'native' | 'other' = 'other'): jest.It {
  if (present) return test;
  if (!strict(kind)) return test.skip;
  const failing = ((name: string) => test(name, () => {
    throw new Error(missing(what, kind));
  })) as unknown as jest.It;
  return failing;
}

/** `describe` when `present`; otherwise `describe.skip`, or, in strict mode, one failing test saying what is missing. */
export function describeIf(present: boolean, what: string, kind: 'native' | 'other' = 'other'): jest.Describe {
  if (present) return describe;
  if (!strict(kind)) return describe.skip;
  const failing = ((name: string) => describe(name, () => {
    test(`requires ${what}`, () => {
      throw new Error(missing(what, kind));
    });
  })) as unknown as jest.Describe;
  return failing;
}
