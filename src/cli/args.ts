import { parseArgs, ParseArgsConfig } from 'node:util';

import { invalid } from '../validate';

/** Option spec for {@link parseCommandArgs}, as node:util parseArgs takes it. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/** Parses a command's arguments strictly; unknown options or missing values become E_INPUT with the usage. */
export function parseCommandArgs<T extends OptionSpec>(
  args: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    const config: ParseArgsConfig & { options: T; allowPositionals: true; strict: true } = { args, options, allowPositionals: true, strict: true };
    return parseArgs(config);
  } catch (e) {
    throw invalid(`${(e as Error).message}\nusage: ${usage}`);
  }
}

/** A required string option, or E_INPUT naming it. */
export function required(v: string | undefined, name: string, usage: string): string {
  if (v === undefined || v === '') throw invalid(`--${name} is required\nusage: ${usage}`);
  return v;
}
