import * as fs from 'fs';
import * as path from 'path';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../../test/helpers/media';
import { tinySpeakerModel } from '../../test/helpers/tiny-speaker-onnx';
import { AudioSignal, decodeAudio } from '../media/audio';
import { BASELINE_MODEL_ID } from './baseline';
import { DEFAULT_VOICE_MODEL, SHORT_CLIP_SPEECH_SECONDS, VoiceEmbedder, fbankOptionsFor, planWindows } from './embed';
import { applyCmn, fbank } from '../kernels/fbank';
import { speakerModelInfo } from './onnx-speaker';
import { testIf } from '../../test/helpers/requires';

const tmp = makeTmpDir('lk-embed-');
afterAll(tmp.cleanup);
const espeak = hasEspeak();

function dot(a: Float32Array, b: Float32Array): number {
  return a.reduce((s, x, i) => s + x * b[i]!, 0);
}

test('windows are laid over speech only, the last one aligned to the end of speech', () => {
  const w = planWindows(
    [
      { start: 10, end: 12 },
      { start: 13, end: 17 },
    ],
    10,
    8 * 16000,
    3,
    1.5,
    0.2,
  );
  expect(w.map((x) => [x.start, x.end, x.speechSeconds])).toEqual([
    [10, 14, 3],
    [11.5, 15.5, 3],
    [14, 17, 3],
  ]);
  // 7 s of speech: the hop leaves 1 s at the end, so a last window is aligned to the end.
  expect(planWindows([{ start: 0, end: 7 }], 0, 7 * 16000, 3, 1.5, 0.2).map((x) => [x.start, x.end])).toEqual([
    [0, 3],
    [1.5, 4.5],
    [3, 6],
    [4, 7],
  ]);
  expect(w[0]!.pieces).toEqual([
    [0, 32000],
    [48000, 64000],
  ]);
  expect(planWindows([{ start: 0, end: 0.1 }], 0, 16000, 3, 1.5, 0.2)).toEqual([]);
  expect(planWindows([{ start: 0, end: 1 }], 0, 16000, 3, 1.5, 0.2).map((x) => x.speechSeconds)).toEqual([1]);
});

const sentences = ['The quick brown fox jumps over the lazy dog near the river.', 'Seven silver spoons were found under the old wooden table.'];
const voices = ['en-us+m3', 'en+f4'];
const clips = new Map<string, AudioSignal>();

beforeAll(async () => {
  if (!espeak) return;
  for (const [v, voice] of voices.entries()) {
    for (const [s, text] of sentences.entries()) {
      clips.set(`${v}${s}`, await decodeAudio(makeSpeechWav(text, path.join(tmp.dir, `${v}${s}.wav`), { voice })));
    }
  }
});

testIf(espeak, 'espeak-ng')('baseline: same voice scores above different voice, windows carry the model id', async () => {
  const e = await VoiceEmbedder.create({ model: BASELINE_MODEL_ID });
  expect(e.isBaseline).toBe(true);
  const emb = new Map<string, Float32Array>();
  for (const [k, sig] of clips) {
    const r = await e.embed(sig);
    expect(r.modelId).toBe(BASELINE_MODEL_ID);
    expect(r.windows.length).toBeGreaterThan(0);
    for (const w of r.windows) {
      expect(w.modelId).toBe(BASELINE_MODEL_ID);
      expect(Math.hypot(...w.embedding)).toBeCloseTo(1, 5);
      expect(w.end).toBeGreaterThan(w.start);
    }
    emb.set(k, r.embedding!);
  }
  const same = Math.min(dot(emb.get('00')!, emb.get('01')!), dot(emb.get('10')!, emb.get('11')!));
  const diff = Math.max(dot(emb.get('00')!, emb.get('10')!), dot(emb.get('01')!, emb.get('11')!), dot(emb.get('00')!, emb.get('11')!));
  expect(same).toBeGreaterThan(diff);
  const silent = await e.embed({ sampleRate: 16000, samples: new Float32Array(32000), offset: 0 });
  expect(silent).toMatchObject({ embedding: null, windows: [], speech: [] });
});

testIf(espeak, 'espeak-ng')('ONNX adapter end to end: speech -> fbank (metadata settings) -> model, checked by hand', async () => {
  const DIM = 8;
  const W = Float32Array.from({ length: 80 * DIM }, (_, i) => Math.cos(i * 0.7) / 80);
  const meta = { framework: '3d-speaker', sample_rate: '16000', output_dim: String(DIM), normalize_samples: '1', feature_normalize_type: 'global-mean', language: 'English', comment: 'test', url: 'none' };
  const file = path.join(tmp.dir, 'tiny.onnx');
  fs.writeFileSync(file, tinySpeakerModel({ flavour: 'general', dim: DIM, weights: W, metadata: meta }));
  const e = await VoiceEmbedder.create({ modelFile: file });
  expect(e.isBaseline).toBe(false);
  const sig = clips.get('00')!;
  const r = await e.embed(sig, [{ start: 0, end: sig.samples.length / 16000 }]);
  // One window per 1.5 s of speech; recompute the first by hand: fbank without int16 scaling, CMN, x*x + x pooled, W.
  const first = r.windows[0]!;
  const fb = applyCmn(fbank(sig.samples.subarray(0, 3 * 16000), fbankOptionsFor(speakerModelInfo(meta, 'x').features)));
  expect(fbankOptionsFor(speakerModelInfo(meta, 'x').features).scale).toBe(1);
  const pooled = new Float64Array(80);
  for (let t = 0; t < fb.frames; t++) for (let b = 0; b < 80; b++) pooled[b]! += (fb.data[t * 80 + b]! ** 2 + fb.data[t * 80 + b]!) / fb.frames;
  const want = new Float64Array(DIM);
  for (let d = 0; d < DIM; d++) for (let b = 0; b < 80; b++) want[d]! += pooled[b]! * W[b * DIM + d]!;
  const norm = Math.hypot(...want);
  for (let d = 0; d < DIM; d++) expect(first.embedding[d]).toBeCloseTo(want[d]! / norm, 4);
  expect(first).toMatchObject({ start: 0, end: 3, modelId: file });
  expect(r.embedding).not.toBeNull();
});

testIf(espeak, 'espeak-ng')('embedStream: chunks keep their timeline; one chunk gives what embed gives', async () => {
  const e = await VoiceEmbedder.create({ model: BASELINE_MODEL_ID });
  const a = clips.get('00')!;
  const b = clips.get('01')!;
  async function* chunks() {
    yield { sampleRate: 16000 as const, samples: a.samples, offset: 0 };
    yield { sampleRate: 16000 as const, samples: b.samples, offset: 100 };
  }
  const r = await e.embedStream(chunks());
  const one = await e.embed(a);
  const two = await e.embed({ ...b, offset: 100 });
  expect(r.windows.length).toBe(one.windows.length + two.windows.length);
  expect(r.windows.filter((w) => w.start >= 100).length).toBe(two.windows.length);
  expect(r.speech).toEqual([...one.speech, ...two.speech]);
  async function* single() {
    yield a;
  }
  const s = await e.embedStream(single());
  expect(Array.from(s.embedding!)).toEqual(Array.from(one.embedding!));
});

test('a missing or unknown model is E_MODEL with a fix', async () => {
  await expect(VoiceEmbedder.create({ model: 'no-such-model' })).rejects.toMatchObject({ code: 'E_MODEL' });
  await expect(VoiceEmbedder.create({ modelFile: path.join(tmp.dir, 'absent.onnx') })).rejects.toMatchObject({ code: 'E_MODEL' });
  await expect((await VoiceEmbedder.create({ model: BASELINE_MODEL_ID })).embed({ sampleRate: 8000 } as unknown as AudioSignal)).rejects.toMatchObject({ code: 'E_INPUT' });
});

testIf(espeak, 'espeak-ng')('a single short word is embedded whole by the neural default; long clips keep detected speech only', async () => {
  const e = await VoiceEmbedder.create();
  expect(e.modelId).toBe(DEFAULT_VOICE_MODEL);
  const word = await decodeAudio(makeSpeechWav('Hat.', path.join(tmp.dir, 'word.wav'), { voice: 'en-us+m3' }));
  const n = word.samples.length;
  expect(n).toBeLessThan(3 * 16000);
  const r = await e.embed(word);
  expect(r.speechSeconds).toBeLessThan(SHORT_CLIP_SPEECH_SECONDS);
  expect(r.windows).toHaveLength(1);
  expect(r.windows[0]).toMatchObject({ start: 0, end: n / 16000, speechSeconds: n / 16000 });
  expect(dot(r.embedding!, await e.embedSamples(word.samples))).toBeCloseTo(1, 5);
  // Caller-chosen speech is respected as given.
  const given = await e.embed(word, []);
  expect(given.windows).toHaveLength(0);
  // A clip longer than one window with little speech is not embedded whole.
  const long: AudioSignal = { sampleRate: 16000, samples: new Float32Array(5 * 16000), offset: 0 };
  long.samples.set(word.samples, 16000);
  const lr = await e.embed(long);
  for (const w of lr.windows) expect(w.speechSeconds).toBeLessThan(SHORT_CLIP_SPEECH_SECONDS);
});

test('maxPause: windows never span a pause longer than it; short runs give no window', () => {
  const segs = [
    { start: 0, end: 2 },
    { start: 2.2, end: 3.5 },
    { start: 5, end: 9 },
    { start: 10, end: 10.1 },
  ];
  const joined = planWindows(segs, 0, 12 * 16000, 3, 1.5, 0.2);
  expect(joined.some((w) => w.start < 3.5 && w.end > 5)).toBe(true);
  const split = planWindows(segs, 0, 12 * 16000, 3, 1.5, 0.2, 0.5);
  for (const w of split) expect(w.start >= 5 || w.end <= 3.5).toBe(true);
  // Run 1 (0-3.5, 3.3 s of speech): two windows; run 2 (5-9): 0-3 and 1-4 -> two; run 3 (0.1 s) none.
  expect(split.map((w) => [w.start, +w.end.toFixed(2)])).toEqual([
    [0, 3.2],
    [0.3, 3.5],
    [5, 8],
    [6, 9],
  ]);
});
