import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as root from '../../src';
import * as kernels from '../../src/kernels';
import { FaceAnalyzer, Guard, LikenessError, VoiceEmbedder } from '../../src';

// Every public function, constructor and method of the package's entry points (`likeness-guard` and
// `likeness-guard/kernels`), fed bad input, answers with a LikenessError carrying a code — never a raw TypeError, a
// crash, or a garbage result. The list of callables is read from the modules themselves, so a new export without
// rows here fails the completeness test below.

type Case = { args: unknown[]; code?: string; note?: string };
type Target = (...args: unknown[]) => unknown;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-api-'));
const missingFile = path.join(tmp, 'no-such-file.jpg');
const junkFile = path.join(tmp, 'junk.jpg');
fs.writeFileSync(junkFile, 'not an image at all');
const img = (w = 4, h = 4) => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const ident = [1, 0, 0, 0, 1, 0];

let guard: Guard;
let faces: FaceAnalyzer;
let voice: VoiceEmbedder;

/** Callables that take no arguments at all (nothing to feed them): exempt, with the reason. */
const NO_ARGUMENTS: Record<string, string> = {
  defaultDbPath: 'no arguments',
  nativeAvailable: 'no arguments',
  nativeInfo: 'no arguments',
  'Guard#voice': 'no arguments',
  'Guard#galleryVersion': 'no arguments',
  'Guard#storeInfo': 'no arguments',
  'Guard#listPerformers': 'no arguments',
  'Guard#rekey': 'no arguments (E_CRYPTO without a key is tested below)',
  'Guard#close': 'no arguments',
  'FaceAnalyzer#close': 'no arguments',
  'FaceAnalyzer#junkSet': 'no arguments (test/enroll/junk.test.ts)',
  'VoiceEmbedder#junkSet': 'no arguments (test/enroll/junk.test.ts)',
  isLikenessError: 'a type guard: every value is a valid argument (false for non-errors)',
};

/** How to call each callable: `Class.static`, `Class#method`, `new Class`, or a function name. */
const CASES: Record<string, Case[]> = {
  'new LikenessError': [{ args: ['E_BOGUS', 'message'] }, { args: [42, 'message'] }, { args: ['E_INPUT', 42] }],
  isScanFailure: [{ args: [null] }, { args: [42] }, { args: ['text'] }],
  formatConfidence: [{ args: [null] }, { args: ['0.5'] }, { args: [-0.1] }, { args: [1.5] }, { args: [NaN] }],
  scanReportFile: [{ args: [null] }, { args: ['x'] }, { args: [{}] }],
  renderPdf: [{ args: [null] }, { args: [42] }, { args: ['<p>x</p>', 'opts'] }, { args: ['<p>x</p>', { chromium: 5 }] }],
  renderHtmlReport: [{ args: [null] }, { args: [{ results: 'x' }] }, { args: [{ results: [] }, 'opts'] }, { args: [{ results: [] }, { title: 42 }] }, { args: [{ results: [] }, { jsonSha256: 'abc' }] }],

  'Guard.open': [{ args: ['likeness.db'] }, { args: [{ db: 42 }] }, { args: [{ db: '' }] }, { args: [{ db: path.join(tmp, 'x.db'), facePreset: 'best' }] }, { args: [{ db: path.join(tmp, 'y.db'), key: 'too-short' }], code: 'E_CRYPTO' }],
  'Guard.doctor': [{ args: ['x'] }, { args: [{ db: 42 }] }],
  'Guard.calibrate': [{ args: [null] }, { args: [{ modality: 'ears', list: 'a.csv', root: '.' }] }, { args: [{ modality: 'faces', list: '', root: '.' }] }, { args: [{ modality: 'faces', list: missingFile, root: tmp }], code: 'E_NOT_FOUND' }],
  'Guard#enroll': [
    { args: [null, [junkFile]] },
    { args: [{ name: '' , noConsent: true }, [junkFile]] },
    { args: [{ name: 'A', noConsent: true }, junkFile] },
    { args: [{ name: 'A', noConsent: true }, []] },
    { args: [{ name: 'A', noConsent: true }, [42]] },
    { args: [{ name: 'A' }, [junkFile]], code: 'E_CONSENT' },
    { args: [{ id: 'no-such-performer' }, [junkFile]], code: 'E_NOT_FOUND' },
    { args: [{ name: 'A', noConsent: true }, [junkFile], { largest: 'yes' }] },
  ],
  'Guard#addReferences': [
    { args: [42, [junkFile]] },
    { args: ['', [junkFile]] },
    { args: ['no-such-performer', junkFile] },
    { args: ['no-such-performer', []] },
    { args: ['no-such-performer', [42]] },
    { args: ['no-such-performer', [junkFile]], code: 'E_NOT_FOUND' },
    { args: ['no-such-performer', [junkFile], { largest: 'yes' }] },
    { args: ['no-such-performer', [junkFile], 'opts'] },
  ],
  'Guard#identify': [{ args: [42] }, { args: [''] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [junkFile], code: 'E_UNSUPPORTED' }, { args: [junkFile, { topK: 0 }] }],
  'Guard#verify': [{ args: ['', junkFile] }, { args: [42, junkFile] }, { args: ['no-such-performer', junkFile], code: 'E_NOT_FOUND' }],
  'Guard#scan': [{ args: [42] }, { args: [null] }, { args: [junkFile, { fps: -1 }] }, { args: [junkFile, { far: 2 }] }, { args: [junkFile, 'opts'] }],
  'Guard#scanMany': [{ args: ['not-a-list'] }, { args: [[junkFile], { concurrency: 0 }] }, { args: [[42]] }],
  'Guard#performer': [{ args: [''] }, { args: [42] }, { args: ['no-such-performer'], code: 'E_NOT_FOUND' }],
  'Guard#deletePerformer': [{ args: [''] }, { args: [42] }],
  'Guard#exportPerformer': [{ args: [''] }, { args: ['no-such-performer'], code: 'E_NOT_FOUND' }, { args: ['x', { includeVectors: 'yes' }] }],
  'Guard#referenceThumbnails': [{ args: [null] }, { args: ['p1'] }, { args: [[42]] }, { args: [['']] }, { args: [{ length: 1 }] }],
  'Guard#withdrawConsent': [{ args: [''] }, { args: ['no-such-performer'], code: 'E_NOT_FOUND' }, { args: ['x', { delete: 'yes' }] }],

  'FaceAnalyzer.create': [{ args: ['fast'] }, { args: [{ preset: 'best' }] }, { args: [{ maxPixels: -1 }] }, { args: [{ intraOpThreads: 0 }] }],
  'FaceAnalyzer#analyze': [{ args: [42] }, { args: [''] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [Buffer.from('junk')], code: 'E_UNSUPPORTED' }, { args: [{ width: 0, height: 1, data: new Uint8Array(0) }] }],
  'FaceAnalyzer#analyzeBatch': [{ args: ['not-a-list'] }, { args: [null] }],
  'FaceAnalyzer#analyzeRgb': [{ args: [null] }, { args: [{ width: 2, height: 2, data: new Uint8Array(3) }] }],
  'FaceAnalyzer#detect': [{ args: [null] }, { args: [{ width: 2, height: 2, data: [0, 0] }] }],
  'FaceAnalyzer#describe': [{ args: [img(), 'x'] }, { args: [null, []] }, { args: [img(), [{ box: { x: 0, y: 0, w: 1, h: 1 }, landmarks: 'x', score: 1 }]] }],

  'VoiceEmbedder.create': [{ args: ['baseline'] }, { args: [{ model: 'no-such-model' }], code: 'E_MODEL' }, { args: [{ windowSeconds: -1 }] }, { args: [{ vad: 'magic' }] }, { args: [{ maxPauseSeconds: -1 }] }],
  'VoiceEmbedder#embedSamples': [{ args: [null] }, { args: [[0.1, 0.2]] }, { args: [new Float32Array([NaN, 1, 2])] }],
  'VoiceEmbedder#embed': [{ args: [null] }, { args: [{ sampleRate: 8000, samples: new Float32Array(8000) }] }, { args: [{ sampleRate: 16000, samples: [0, 1] }] }, { args: [{ sampleRate: 16000, samples: new Float32Array(16000) }, 'speech'] }],
  'VoiceEmbedder#embedStream': [{ args: [null] }, { args: [42] }],

  decodeAudio: [{ args: [42] }, { args: [''] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [junkFile, { maxSeconds: -1 }] }, { args: [junkFile, 'opts'] }],
  pcmToSignal: [{ args: [[0.1], 16000] }, { args: [new Float32Array(4), 10] }, { args: [new Float32Array(3), 16000, { channels: 2 }] }, { args: [new Float32Array([NaN]), 16000] }, { args: [new Float32Array(4), 16000, 'opts'] }],
  gateInput: [{ args: [42] }, { args: [''] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [tmp] }, { args: [junkFile, 'opts'] }, { args: [junkFile, { limits: { maxFileBytes: -1 } }] }],
  statRegularFile: [{ args: [42] }, { args: [''] }, { args: ['a\0b'] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [tmp] }],
  listMediaFiles: [{ args: [42] }, { args: [''] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [tmp, { maxFiles: 0 }] }, { args: [tmp, 'opts'] }],
  probeInput: [{ args: [42] }, { args: [missingFile], code: 'E_NOT_FOUND' }, { args: [tmp] }, { args: [junkFile, { limits: 'x' }] }],
  resolveLimits: [{ args: ['x'] }, { args: [{ maxPixels: -1 }] }, { args: [{ noSuchLimit: 1 }] }],
  computeFbank: [{ args: ['x'] }, { args: [new Float32Array(400), { numBins: 0 }] }, { args: [new Float32Array(400), {}, { threads: 0 }] }],
  cropFacesNchw: [{ args: [null, [], 112] }, { args: [img(), [[NaN, 0, 0, 0, 1, 0]], 112] }, { args: [img(), [ident], 0] }, { args: [img(), 'x', 112] }],
  letterboxNchw: [{ args: [null, ident, { width: 4, height: 4, validWidth: 4, validHeight: 4 }] }, { args: [img(), ident, { width: 0, height: 4, validWidth: 0, validHeight: 4 }] }, { args: [img(), 'x', { width: 4, height: 4, validWidth: 4, validHeight: 4 }] }],
  meshCropsNchw: [{ args: [null, [], 192] }, { args: [img(), 'x', 192] }, { args: [img(), [{ box: [0, 0, 1, 1], radians: NaN, cx: 0, cy: 0 }], 192] }, { args: [img(), [], 1] }, { args: [img(), [], 192, 0] }],
  decodeBlazeFace: [{ args: [[], [], [], {}] }, { args: [new Float32Array(1), new Float32Array(16), new Float32Array(2), null] }, { args: [new Float32Array(1), new Float32Array(16), new Float32Array(2), { size: 0, minScore: 0.3, iou: 0.1, maxFaces: 5 }] }],
  postprocessDetections: [{ args: [[], [], {}] }, { args: [new Float32Array(2), new Float32Array(4), null] }, { args: [new Float32Array(2), new Float32Array(4), { minScore: 0.5, detW: 320, detH: 240, scale: 0, rx: 0, ry: 0, iou: 0.3 }] }],
  searchTopK: [{ args: ['x', 4, new Float32Array(4), 1] }, { args: [new Float32Array(8), 0, new Float32Array(4), 1] }, { args: [new Float32Array(8), 4, new Float32Array(4), -1] }],
  searchTopKInt8: [{ args: [null, new Float32Array(4), 1] }, { args: [{ dim: 4, rows: 1, data: new Int8Array(3), scales: new Float32Array(1) }, new Float32Array(4), 1] }],
  quantizeGallery: [{ args: ['x', 4] }, { args: [new Float32Array(8), 0] }],
  resampleAudio: [{ args: ['x', 8000] }, { args: [new Float32Array(10), 0] }, { args: [new Float32Array(10), 8000, 1e9] }],
};

/** Every callable of the entry points, keyed as CASES is. */
function publicCallables(): Map<string, { target: Target; kind: 'function' | 'static' | 'method' | 'constructor'; owner?: string }> {
  const out = new Map<string, { target: Target; kind: 'function' | 'static' | 'method' | 'constructor'; owner?: string }>();
  for (const mod of [root, kernels] as Record<string, unknown>[]) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function') continue;
      const isClass = /^class\b/.test(Function.prototype.toString.call(value));
      if (!isClass) {
        out.set(name, { target: value as Target, kind: 'function' });
        continue;
      }
      // Classes with a public constructor are constructed by callers; the others (private constructor, made by a
      // static factory) are listed in PRIVATE_CONSTRUCTORS.
      if (!PRIVATE_CONSTRUCTORS.has(name)) out.set(`new ${name}`, { target: value as Target, kind: 'constructor' });
      for (const s of Object.getOwnPropertyNames(value)) {
        if (['length', 'name', 'prototype'].includes(s) || isPrivate(name, s)) continue;
        const d = Object.getOwnPropertyDescriptor(value, s)!;
        if (typeof d.value === 'function') out.set(`${name}.${s}`, { target: d.value as Target, kind: 'static' });
      }
      for (const m of Object.getOwnPropertyNames((value as { prototype: object }).prototype)) {
        if (m === 'constructor' || m === 'toJSON' || isPrivate(name, m)) continue;
        const d = Object.getOwnPropertyDescriptor((value as { prototype: object }).prototype, m)!;
        if (typeof d.value === 'function') out.set(`${name}#${m}`, { target: d.value as Target, kind: 'method', owner: name });
      }
    }
  }
  return out;
}

/** The source of every library file, to tell TypeScript-private members (present at run time) from public ones. */
const SOURCES = (() => {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(__dirname, '..', '..', 'src'));
  return out;
})();

/** True when `member` of class `cls` is declared `private` or `protected` in the source. */
function isPrivate(cls: string, member: string): boolean {
  const src = SOURCES.find((s) => new RegExp(`\\bclass ${cls}\\b`).test(s));
  if (!src) return false;
  return new RegExp(`\\b(private|protected)\\s+(static\\s+)?(readonly\\s+)?(async\\s+)?\\*?${member}\\s*[(<=:]`).test(src);
}

/** Classes whose constructor is private in TypeScript (instances come from `open` / `create`). */
const PRIVATE_CONSTRUCTORS = new Set(['Guard', 'FaceAnalyzer', 'VoiceEmbedder']);

function instanceFor(owner: string): object {
  switch (owner) {
    case 'Guard':
      return guard;
    case 'FaceAnalyzer':
      return faces;
    case 'VoiceEmbedder':
      return voice;
    default:
      throw new Error(`no instance for ${owner}`);
  }
}

/** Calls one case; resolves to what it threw or rejected with (or to a marker when it returned normally). */
async function outcome(entry: { target: Target; kind: string; owner?: string }, args: unknown[]): Promise<unknown> {
  try {
    let r: unknown;
    if (entry.kind === 'constructor') r = new (entry.target as unknown as new (...a: unknown[]) => unknown)(...args);
    else if (entry.kind === 'method') r = entry.target.apply(instanceFor(entry.owner!), args);
    else r = entry.target(...args);
    if (r && typeof (r as AsyncIterator<unknown>).next === 'function' && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      for await (const _ of r as AsyncIterable<unknown>) void _;
    } else await r;
    return { returned: true };
  } catch (e) {
    return e;
  }
}

beforeAll(async () => {
  guard = await Guard.open({ db: path.join(tmp, 'api.db'), key: null, facePreset: 'fast' });
  faces = await FaceAnalyzer.create({ preset: 'fast' });
  voice = await VoiceEmbedder.create({ model: 'baseline-mfcc-stats' });
});

afterAll(async () => {
  await guard?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('public API: bad input gives a LikenessError with a code', () => {
  const callables = publicCallables();

  test('every public function, constructor and method has bad-input cases (or takes no arguments)', () => {
    const uncovered = [...callables.keys()].filter((k) => !(k in CASES) && !(k in NO_ARGUMENTS));
    expect(uncovered).toEqual([]);
    const stale = Object.keys(CASES).filter((k) => !callables.has(k));
    expect(stale).toEqual([]);
    expect(callables.size).toBeGreaterThan(40);
  });

  const rows = Object.entries(CASES).flatMap(([name, cases]) => cases.map((c, i) => [name, i, c] as const));
  test.each(rows)('%s case %i', async (name, _i, c) => {
    const entry = callables.get(name);
    expect(entry).toBeDefined();
    const e = await outcome(entry!, c.args);
    expect(e).toBeInstanceOf(LikenessError);
    expect((e as LikenessError).code).toBe(c.code ?? 'E_INPUT');
  });

  test('rekey without a key is E_CRYPTO', async () => {
    await expect(guard.rekey()).rejects.toMatchObject({ code: 'E_CRYPTO' });
  });
});
