import * as fs from 'fs';
import { LikenessError } from '../errors';
import { openRegularFile } from './gate';
import type { MediaLimits } from './limits';

// Our own small RIFF/WAVE reader. It exists for two reasons: the fast path (16 kHz mono PCM/float WAV needs no
// ffmpeg process), and safety: every chunk size is checked against the real number of bytes, so a header that claims
// ten hours of audio is refused before anything is allocated or read. wavefile parses whole buffers only.

/** Where WAV bytes come from: a file (read on demand) or a buffer. */
export interface ByteSource {
  /** Total number of bytes. */
  readonly size: number;
  /** Reads up to `length` bytes at `offset` (fewer at the end). */
  read(offset: number, length: number): Buffer;
  /** Releases the file handle, if any. */
  close(): void;
}

/**
 * A ByteSource over a file descriptor; reads only what is asked. Goes through the input gate: only a regular file is
 * opened (a FIFO or device named like media is refused before open()). Throws E_NOT_FOUND / E_INPUT / E_TOO_LARGE.
 */
export function fileSource(file: string, limits?: Pick<MediaLimits, 'maxFileBytes'>): ByteSource {
  const { fd, size } = openRegularFile(file, limits);
  const st = { size };
  let open = true;
  return {
    size: st.size,
    read(offset, length) {
      const n = Math.max(0, Math.min(length, st.size - offset));
      const b = Buffer.allocUnsafe(n);
      let got = 0;
      try {
        while (got < n) {
          const r = fs.readSync(fd, b, got, n - got, offset + got);
          if (r === 0) break;
          got += r;
        }
      } catch (e) {
        throw new LikenessError('E_DECODE', `cannot read ${file}: ${(e as Error).message}`, { file });
      }
      return b.subarray(0, got);
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** A ByteSource over bytes already in memory. */
export function bufferSource(buf: Uint8Array): ByteSource {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    size: b.length,
    read: (offset, length) => b.subarray(Math.min(offset, b.length), Math.min(offset + length, b.length)),
    close: () => undefined,
  };
}

/** Sample encodings the fast path converts itself. */
export type WavSampleFormat = 'int' | 'float';

/** What a WAV header says, after its sizes were checked against the data really present. */
export interface WavInfo {
  /** 1 = PCM integer, 3 = IEEE float (after resolving WAVE_FORMAT_EXTENSIBLE); other codes go to ffmpeg. */
  formatCode: number;
  sampleFormat: WavSampleFormat | undefined;
  bitsPerSample: number;
  channels: number;
  sampleRate: number;
  /** Bytes per sample frame (all channels). */
  blockAlign: number;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of sample data that are really present (never more than the file holds). */
  dataBytes: number;
  /** Whole sample frames in `dataBytes`. */
  frames: number;
  /** True when the header claimed more data than the file holds. */
  truncated: boolean;
  /** The data size the header claimed. */
  declaredDataBytes: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Writers that stream to a pipe put 0 or 0xFFFFFFFF as data size: "until the end of the file". */
const UNKNOWN_SIZES = new Set([0, 0xffffffff]);

/** True when the bytes start like a RIFF/WAVE file. */
export function isWavHead(head: Uint8Array): boolean {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  return b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WAVE';
}

/**
 * Reads and validates a RIFF/WAVE header. Returns undefined when the source is not RIFF/WAVE (RF64 and RIFX are left
 * to ffmpeg). Throws E_DECODE when the header is inconsistent: fmt missing or after data, impossible values, a chunk
 * running past the end of the file. A data chunk longer than the file is reported through `truncated`, not thrown,
 * so callers can decide.
 */
export function readWavInfo(src: ByteSource, label: string): WavInfo | undefined {
  const head = src.read(0, 12);
  if (!isWavHead(head)) return undefined;
  let pos = 12;
  let fmt: Pick<WavInfo, 'formatCode' | 'bitsPerSample' | 'channels' | 'sampleRate' | 'blockAlign'> | undefined;
  // Bounded walk: a file full of tiny chunks cannot keep us looping forever.
  for (let guard = 0; guard < 10_000 && pos + 8 <= src.size; guard++) {
    const ch = src.read(pos, 8);
    const id = ch.toString('latin1', 0, 4);
    const size = ch.readUInt32LE(4);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > src.size) throw bad(label, `fmt chunk has an impossible size (${size} bytes)`);
      fmt = parseFmt(src.read(body, Math.min(size, 40)), label);
    } else if (id === 'data') {
      if (!fmt) throw bad(label, 'data chunk comes before the fmt chunk');
      const available = src.size - body;
      const unknown = UNKNOWN_SIZES.has(size);
      const dataBytes = unknown ? available : Math.min(size, available);
      const frames = Math.floor(dataBytes / fmt.blockAlign);
      return {
        ...fmt,
        sampleFormat: sampleFormatOf(fmt.formatCode, fmt.bitsPerSample),
        dataOffset: body,
        dataBytes: frames * fmt.blockAlign,
        frames,
        truncated: !unknown && size > available,
        declaredDataBytes: unknown ? available : size,
      };
    } else if (body + size > src.size) {
      throw bad(label, `chunk "${printable(id)}" claims ${size} bytes but the file ends before that`);
    }
    pos = body + size + (size & 1);
  }
  throw bad(label, fmt ? 'no data chunk' : 'no fmt chunk');
}

function parseFmt(b: Buffer, label: string): Pick<WavInfo, 'formatCode' | 'bitsPerSample' | 'channels' | 'sampleRate' | 'blockAlign'> {
  let formatCode = b.readUInt16LE(0);
  const channels = b.readUInt16LE(2);
  const sampleRate = b.readUInt32LE(4);
  const blockAlign = b.readUInt16LE(12);
  const bitsPerSample = b.readUInt16LE(14);
  if (formatCode === WAVE_FORMAT_EXTENSIBLE && b.length >= 26) formatCode = b.readUInt16LE(24); // SubFormat GUID's first 2 bytes
  if (channels < 1 || channels > 64) throw bad(label, `fmt chunk says ${channels} channels`);
  if (sampleRate < 1 || sampleRate > 1_000_000) throw bad(label, `fmt chunk says ${sampleRate} Hz`);
  if (blockAlign < 1) throw bad(label, 'fmt chunk says 0 bytes per sample frame');
  return { formatCode, channels, sampleRate, blockAlign, bitsPerSample };
}

function sampleFormatOf(code: number, bits: number): WavSampleFormat | undefined {
  if (code === WAVE_FORMAT_PCM && (bits === 16 || bits === 24 || bits === 32)) return 'int';
  if (code === WAVE_FORMAT_IEEE_FLOAT && bits === 32) return 'float';
  return undefined;
}

function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, '?');
}

function bad(label: string, what: string): LikenessError {
  return new LikenessError('E_DECODE', `${label}: damaged WAV header: ${what}`, { file: label });
}

/** True when the fast path can convert this WAV without ffmpeg (mono, given rate, 16/24/32-bit int or 32-bit float). */
export function wavFastPathOk(info: WavInfo, sampleRate: number): boolean {
  return info.sampleFormat !== undefined && info.channels === 1 && info.sampleRate === sampleRate && info.blockAlign === info.bitsPerSample / 8;
}

/**
 * Converts little-endian mono samples to float32 in -1..1, with the same scale ffmpeg uses (int16 / 32768,
 * int24 / 2^23, int32 / 2^31) so both paths give identical numbers. Hot path for hour-long WAV: plain loops.
 */
export function pcmToFloat32(bytes: Buffer, format: WavSampleFormat, bits: number, out: Float32Array, outOffset = 0): number {
  const n = Math.floor(bytes.length / (bits / 8));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (format === 'float') {
    for (let i = 0; i < n; i++) out[outOffset + i] = dv.getFloat32(i * 4, true);
  } else if (bits === 16) {
    for (let i = 0; i < n; i++) out[outOffset + i] = dv.getInt16(i * 2, true) / 32768;
  } else if (bits === 24) {
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      const v = (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16)) << 8; // sign-extend via the top byte
      out[outOffset + i] = (v >> 8) / 8388608;
    }
  } else {
    for (let i = 0; i < n; i++) out[outOffset + i] = dv.getInt32(i * 4, true) / 2147483648;
  }
  return n;
}
