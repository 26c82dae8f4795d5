import { parseArgs, ParseArgsConfig } from 'node:util';
import { LikenessError } from '../errors';
import { readPathList } from '../media/gate';
import { LIMIT_NAMES, LIMIT_RANGES, limitFlag, type MediaLimits } from '../media/limits';
import { int, invalid } from '../validate';

/** Option spec for {@link parseCommandArgs}, as node:util parseArgs takes it. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

/**
 * Thrown by {@link parseCommandArgs} for `--help` / `-h`: the CLI entry prints `text` on stdout and exits 0. Not a
 * LikenessError (nothing failed). `options` is the parser's own option table, the one source the text is made from.
 */
export class HelpRequested extends Error {
  constructor(
    /** The usage line(s) and every option the parser accepts. */
    readonly text: string,
    /** The option table the command's parser accepts (for tests and `likeness help COMMAND`). */
    readonly options: OptionSpec,
  ) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/** True when the arguments ask for help (`--help` or `-h` before a `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * The help text of a command: its usage, then one line per option of the parser's table (`--db PATH`,
 * `--alias A (repeatable)`), the value's name taken from the usage where it names one. Pure.
 */
export function helpText(usage: string, options: OptionSpec): string {
  const lines: string[] = [];
  const all: OptionSpec = { ...options, help: { type: 'boolean', short: 'h' } };
  for (const name of Object.keys(all).sort()) {
    const o = all[name]!;
    const esc = name.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&');
    const meta = new RegExp(`--${esc}[ =]([A-Z][\\w.|-]*|[a-z]+(?:\\|[a-z]+)+)`).exec(usage)?.[1]?.replace(/\.+$/, '') ?? 'VALUE';
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${meta}` : ''}`;
    lines.push(`  ${flag}${o.multiple ? ' (repeatable)' : ''}${name === 'help' ? '   this help' : ''}`);
  }
  return `usage: ${usage}\n\noptions:\n${lines.join('\n')}`;
}

/**
 * Parses a command's arguments strictly; unknown options or missing values become E_INPUT with the usage.
 * `--help` / `-h` throws {@link HelpRequested} with the usage and every option of `options`.
 */
export function parseCommandArgs<T extends OptionSpec>(
  args: string[],
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  if (wantsHelp(args)) throw new HelpRequested(helpText(usage, options), options);
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

/** The `--max-*` flags, one per media limit (`--max-pixels`, `--max-duration-s`...). */
export const LIMIT_OPTIONS: OptionSpec = Object.fromEntries(LIMIT_NAMES.map((n) => [limitFlag(n).slice(2), { type: 'string' as const }]));

/** Usage text of the `--max-*` flags. */
export const LIMIT_USAGE = `[${LIMIT_NAMES.map((n) => `${limitFlag(n)} N`).join('] [')}]`;

/** The limits given as `--max-*` flags (E_INPUT, from the validation module, naming the flag, for a bad value). */
export function limitsFrom(values: Record<string, unknown>): Partial<MediaLimits> {
  const out: Partial<MediaLimits> = {};
  for (const n of LIMIT_NAMES) {
    const v = values[limitFlag(n).slice(2)];
    if (typeof v === 'string') out[n] = int(limitFlag(n), v.trim() === '' ? NaN : Number(v), ...LIMIT_RANGES[n]);
  }
  return out;
}

/** `--from FILE` / `--from -`: more inputs from a list (one path per line, or NUL-separated), repeatable. */
export const FROM_OPTION = { from: { type: 'string' as const, multiple: true as const } };

/** Usage text of {@link FROM_OPTION}. */
export const FROM_USAGE = '[--from LIST|-]...';

/** The positional inputs followed by those of every `--from` list (standard input at most once). */
export function inputsWithLists(positionals: readonly string[], from: readonly string[] | undefined): string[] {
  const out = [...positionals];
  if (!from) return out;
  if (from.filter((f) => f === '-').length > 1) throw invalid('--from - (standard input) can be given once');
  for (const f of from) out.push(...readPathList(f));
  return out;
}
