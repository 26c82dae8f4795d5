/** A CLI command: receives its arguments (after the command words) and returns the process exit code. */
export type CommandHandler = (args: string[], io: CommandIO) => Promise<number>;

/** Where commands print: stdout for results (JSON), stderr for notes, warnings and progress. */
export interface CommandIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** True when stderr is a TTY (progress bars). */
  isTTY: boolean;
}

/** Prints a JSON value on one line followed by a newline. */
export function printJson(io: CommandIO, v: unknown): void {
  io.out(JSON.stringify(v, null, 2) + '\n');
}
