import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

/** Group photos shipped (MIT) in @vladmandic/face-api's demo folder: the project's own face test media. */
export function sampleImage(n: 1 | 2 | 3 | 4 | 5 | 6): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', `sample${n}.jpg`);
}

/** `sampleImage(n)` when @vladmandic/face-api (a dev dependency) and its demo photos are installed, else undefined. */
export function optionalSampleImage(n: 1 | 2 | 3 | 4 | 5 | 6 = 1): string | undefined {
  try {
    const f = sampleImage(n);
    return fs.existsSync(f) ? f : undefined;
  } catch {
    return undefined;
  }
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** One PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A valid PNG header claiming `w` x `h` RGB pixels followed by a tiny IDAT: a decompression-bomb shape. */
export function pngClaiming(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
