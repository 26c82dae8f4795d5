import * as fs from 'fs';
import { LikenessError } from '../errors';
import { statRegularFile } from '../media/gate';
import { invalid } from '../validate';

/** One labelled pair (or trial) from an evaluation list. */
export interface LabelledPair {
  fileA: string;
  fileB: string;
  same: boolean;
}

/**
 * Reads a `fileA,fileB,same` CSV (header required, extra columns ignored, LF or CRLF, double-quoted fields allowed).
 */
export function readPairsCsv(file: string): LabelledPair[] {
  // Through the input gate: a FIFO named pairs.csv would block readFileSync forever; a huge file is refused by size.
  const st = statRegularFile(file, { maxFileBytes: MAX_CSV_BYTES });
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new LikenessError('E_NOT_FOUND', `cannot read pairs file ${file}: ${(e as Error).message}`, { file, bytes: st.size });
  }
  const rows = parseCsv(text);
  const header = rows.shift()?.map((h) => h.trim().toLowerCase());
  const ia = header?.indexOf('filea') ?? -1;
  const ib = header?.indexOf('fileb') ?? -1;
  const is = header?.indexOf('same') ?? -1;
  if (ia < 0 || ib < 0 || is < 0) {
    throw invalid(`${file}: expected a header with fileA,fileB,same`, { file });
  }
  const out: LabelledPair[] = [];
  rows.forEach((r, n) => {
    if (r.length === 1 && r[0]!.trim() === '') return;
    const a = r[ia]?.trim();
    const b = r[ib]?.trim();
    const s = r[is]?.trim().toLowerCase();
    if (!a || !b || s === undefined) throw invalid(`${file}: row ${n + 2} is incomplete`, { file });
    if (!['0', '1', 'true', 'false', 'yes', 'no'].includes(s)) {
      throw invalid(`${file}: row ${n + 2}: "same" must be 0/1, got ${s}`, { file });
    }
    out.push({ fileA: a, fileB: b, same: s === '1' || s === 'true' || s === 'yes' });
  });
  return out;
}

/** Largest evaluation list read (a list of a million pairs is about 100 MB). */
const MAX_CSV_BYTES = 256 * 1024 * 1024;

/** Minimal RFC 4180 parser: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
