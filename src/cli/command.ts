/** A CLI command: receives its arguments (after the command words) and returns the process exit code. */
export type CommandHandler = (args: string[], io: CommandIO) => Promise<number>;

/**
 * Where commands print: stdout for results (JSON), stderr for notes, warnings and progress. `out` and `err` pass
 * their text through {@link escapeControls} (names and file names come from users and media); only `status` draws.
 */
export interface CommandIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** True when stderr is a TTY (progress bars). */
  isTTY: boolean;
  /** Redraws a one-line status on stderr (on a TTY only; `''` clears it). The text is escaped like `err`. */
  status: (line: string) => void;
}

/**
 * Control characters that can rewrite a terminal or reorder text: C0 except tab and newline, DEL, C1 (CSI U+009B...),
 * and the bidi controls (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069).
 */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Every CLI print path's escape: control and bidi characters become visible `\uXXXX` (the same escape JSON uses, so
 * JSON printed through it still parses to the same values), tab and newline stay.
 */
export function escapeControls(s: string): string {
  return s.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The process's CommandIO: stdout and stderr with every text escaped; status lines drawn on a terminal only. */
export function processIO(): CommandIO {
  const isTTY = Boolean(process.stderr.isTTY);
  return {
    out: (s) => void process.stdout.write(escapeControls(s)),
    err: (s) => void process.stderr.write(escapeControls(s)),
    isTTY,
    status: (line) => {
      if (isTTY) process.stderr.write(`\r\x1b[K${escapeControls(line)}`);
    },
  };
}

/** Prints a JSON value on one line followed by a newline. */
export function printJson(io: CommandIO, v: unknown): void {
  io.out(JSON.stringify(v, null, 2) + '\n');
}
