import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import sharp from 'sharp';
import { isLikenessError } from '../../src/errors';
import { parseCsv, readPairsCsv } from '../../src/eval/csv';
import { decodeAudio } from '../../src/media/audio';
import { StderrWatch, parseProbeJson } from '../../src/media/ffmpeg';
import { decodeImage } from '../../src/media/image';
import { bufferSource, readWavInfo, wavFastPathOk } from '../../src/media/wav';
import { makeTmpDir } from '../helpers/media';
import { wav } from './corpus';

// Property tests of the readers a hostile file reaches first: WAV header and fast path, images (sharp behind our
// header check), the evaluation CSV reader and the ffprobe JSON parser. Seeds and run counts are fixed
// (test/fuzz/seeds.json) so a run is reproducible; every failing input found is kept in test/fuzz/regressions/ and
// replayed first. The property: the reader returns a well-formed value or throws a LikenessError; nothing else.

const SEEDS = JSON.parse(fs.readFileSync(path.join(__dirname, 'seeds.json'), 'utf8')) as Record<string, { seed: number; numRuns: number }>;
const REGRESSIONS = path.join(__dirname, 'regressions');
const tmp = makeTmpDir('lg-prop-');
afterAll(tmp.cleanup);

function params(name: string): { seed: number; numRuns: number } {
  const p = SEEDS[name];
  if (!p) throw new Error(`no seed for ${name} in seeds.json`);
  return { seed: p.seed, numRuns: p.numRuns };
}

/** Saved failing inputs of one property (base64 bytes or text), replayed before the random runs. */
function regressions(name: string): Buffer[] {
  const d = path.join(REGRESSIONS, name);
  if (!fs.existsSync(d)) return [];
  return fs
    .readdirSync(d)
    .sort()
    .map((f) => Buffer.from(fs.readFileSync(path.join(d, f), 'utf8').trim(), 'base64'));
}

/** Runs `body`; a thrown LikenessError is an allowed outcome (its code must be one of `codes`), anything else fails. */
async function typed(codes: readonly string[], body: () => unknown): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (!isLikenessError(e)) throw e;
    if (!codes.includes(e.code)) throw new Error(`unexpected code ${e.code}: ${e.message}`);
  }
}

/** A valid 16 kHz mono 16-bit WAV of `n` samples. */
function validWav(n: number): Buffer {
  const s = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) s.writeInt16LE(Math.round(8000 * Math.sin(i / 9)), i * 2);
  return wav(s);
}

/** Byte edits: overwrite, insert or delete at positions of `base`. */
const edits = fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'insert', 'delete'), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }), { maxLength: 12 });

function applyEdits(base: Buffer, list: { at: number; op: string; bytes: Uint8Array }[]): Buffer {
  let b = Buffer.from(base);
  for (const e of list) {
    const at = b.length ? e.at % b.length : 0;
    if (e.op === 'set') Buffer.from(e.bytes).copy(b, at);
    else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.bytes.length)]);
  }
  return b;
}

/** Interesting 32-bit values for header fields: 0, 1, powers of two, all ones, sizes near the file's. */
const field32 = fc.oneof(fc.constantFrom(0, 1, 2, 16, 44, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe), fc.nat());

describe('WAV reader', () => {
  const base = validWav(1600);

  test('readWavInfo: a consistent header or E_DECODE, for edited headers and random fields', async () => {
    for (const b of regressions('wav')) await typed(['E_DECODE'], () => checkInfo(b));
    await fc.assert(
      fc.asyncProperty(edits, fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), field32), { maxLength: 4 }), async (list, fields) => {
        const b = applyEdits(base, list);
        for (const [at, v] of fields) if (at + 4 <= b.length) b.writeUInt32LE(v >>> 0, at);
        await typed(['E_DECODE'], () => checkInfo(b));
      }),
      params('wavHeader'),
    );
  });

  test('the fast path decodes finite samples in -64..64 or refuses with E_DECODE / E_TOO_LARGE', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(16, 24, 32),
        fc.boolean(),
        fc.uint8Array({ minLength: 0, maxLength: 4096 }),
        fc.option(field32, { nil: undefined }),
        async (bits, float, bytes, claim) => {
          const useFloat = float && bits === 32;
          const b = wav(Buffer.from(bytes), { format: useFloat ? 3 : 1, bits, ...(claim !== undefined ? { claimData: claim } : {}) });
          const info = readWavInfoSafe(b);
          if (!info || !wavFastPathOk(info, 16000)) return;
          await typed(['E_DECODE', 'E_TOO_LARGE'], async () => {
            const a = await decodeAudio(b);
            expect(a.samples.length).toBe(info.frames);
            for (const v of a.samples) if (!Number.isFinite(v) || Math.abs(v) > 64) throw new Error(`sample ${v} passed the reader`);
          });
        },
      ),
      params('wavDecode'),
    );
  });
});

function readWavInfoSafe(b: Buffer): ReturnType<typeof readWavInfo> {
  try {
    return readWavInfo(bufferSource(b), 'prop');
  } catch {
    return undefined;
  }
}

function checkInfo(b: Buffer): void {
  const info = readWavInfo(bufferSource(b), 'prop');
  if (!info) return;
  expect(info.dataOffset + info.dataBytes).toBeLessThanOrEqual(b.length);
  expect(info.frames * info.blockAlign).toBe(info.dataBytes);
  expect(info.channels).toBeGreaterThanOrEqual(1);
  expect(info.channels).toBeLessThanOrEqual(64);
  expect(info.sampleRate).toBeGreaterThanOrEqual(1);
}

describe('image reader', () => {
  let bases: Buffer[] = [];
  beforeAll(async () => {
    const img = sharp({ create: { width: 24, height: 16, channels: 3, background: '#468' } });
    bases = [await img.clone().jpeg().toBuffer(), await img.clone().png().toBuffer(), await img.clone().gif().toBuffer(), await img.clone().webp().toBuffer(), await img.clone().tiff().toBuffer()];
  });

  test('decodeImage: a consistent RGB image or E_DECODE / E_UNSUPPORTED / E_TOO_LARGE', async () => {
    const check = async (b: Buffer): Promise<void> =>
      typed(['E_DECODE', 'E_UNSUPPORTED', 'E_TOO_LARGE'], async () => {
        const img = await decodeImage(b, { maxPixels: 4_000_000 });
        expect(img.data.length).toBe(img.width * img.height * 3);
      });
    for (const b of regressions('image')) await check(b);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 4 }), edits, async (k, list) => {
        await check(applyEdits(bases[k]!, list));
      }),
      params('image'),
    );
  });
});

describe('CSV reader', () => {
  test('parseCsv never throws and readPairsCsv gives pairs or E_INPUT on any text', async () => {
    const file = path.join(tmp.dir, 'pairs.csv');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', '1', '0', ' ', 'fileA', 'fileB', 'same'), maxLength: 200 })), async (text) => {
        expect(Array.isArray(parseCsv(text))).toBe(true);
        fs.writeFileSync(file, text);
        await typed(['E_INPUT'], () => {
          for (const p of readPairsCsv(file)) expect(typeof p.same).toBe('boolean');
        });
      }),
      params('csv'),
    );
  });

  test('rows written with RFC 4180 quoting read back as the same rows', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', ' ', 'é'), maxLength: 8 });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 }), (rows) => {
        const text = rows.map((r) => r.map((c) => `"${c.replace(/"/g, '""')}"`).join(',')).join('\n') + '\n';
        expect(parseCsv(text)).toEqual(rows);
      }),
      params('csvRoundTrip'),
    );
  });
});

describe('ffprobe parser', () => {
  const invariants = (text: string): void => {
    const info = parseProbeJson(text, 'prop');
    expect(typeof info.format).toBe('string');
    expect(Number.isNaN(info.duration) || (Number.isFinite(info.duration) && info.duration > 0)).toBe(true);
    for (const s of info.streams) {
      expect(['audio', 'video']).toContain(s.type);
      expect(Number.isInteger(s.index) && s.index >= 0).toBe(true);
      for (const v of [s.width, s.height, s.channels, s.sampleRate]) if (v !== undefined) expect(Number.isInteger(v) && v > 0).toBe(true);
      for (const v of [s.fps, s.duration]) if (v !== undefined) expect(Number.isFinite(v) && v > 0).toBe(true);
    }
  };

  test('any JSON text (or not JSON): a MediaInfo with sane numbers, or E_DECODE', async () => {
    for (const b of regressions('ffprobe')) await typed(['E_DECODE'], () => invariants(b.toString('utf8')));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string({ maxLength: 200 })), async (text) => typed(['E_DECODE'], () => invariants(text))),
      params('ffprobe'),
    );
  });

  test('ffprobe-shaped objects with hostile field values: sane numbers or E_DECODE', async () => {
    const value = fc.oneof(fc.anything(), fc.constantFrom('NaN', 'inf', '-1', '1e400', '0/0', '30000/1001', '-5/0', 'N/A', ''), fc.double());
    const stream = fc.record(
      { index: value, codec_type: fc.oneof(fc.constantFrom('audio', 'video', 'subtitle', 'data'), value), codec_name: value, width: value, height: value, channels: value, sample_rate: value, avg_frame_rate: value, r_frame_rate: value, duration: value },
      { requiredKeys: [] },
    );
    const doc = fc.record({ format: fc.oneof(fc.record({ format_name: value, duration: value }, { requiredKeys: [] }), value), streams: fc.oneof(fc.array(stream, { maxLength: 6 }), value) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(doc, async (d) => typed(['E_DECODE'], () => invariants(JSON.stringify(d) ?? 'null'))),
      params('ffprobeShape'),
    );
  });

  test("ffmpeg's stderr watcher takes any text, split anywhere, with bounded memory", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 2000 }), { maxLength: 20 }), (parts) => {
        const w = new StderrWatch();
        for (const p of parts) w.push(p);
        w.finish();
        expect(w.truncation.length).toBeLessThanOrEqual(5);
        expect(w.damage.length).toBeLessThanOrEqual(5);
      }),
      params('stderrWatch'),
    );
  });
});
