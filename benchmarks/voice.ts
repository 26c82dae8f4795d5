/**
 * Voice pipeline speed: decode + speech detection + features + embedding on a long file the benchmark composes
 * itself (espeak-ng speech with pauses, encoded as 44.1 kHz stereo MP3 so decoding goes through ffmpeg).
 *
 *   npm run bench:voice -- [--json] [--minutes 5] [--model ID | --model-file FILE.onnx] [--tiny-check]
 *
 * With a neural model (installed manifest model, or --model-file), sherpa-onnx-node's SpeakerEmbeddingExtractor runs
 * the same ONNX file on the same speech windows: speed ratio and cosine agreement. --tiny-check does that comparison
 * with a small generated model carrying 3D-Speaker metadata: it checks the feature pipeline (fbank, scaling,
 * normalisation, layout) against sherpa-onnx, not speaker accuracy.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tinySpeakerModel } from '../test/helpers/tiny-speaker-onnx';
import { decodeAudio, streamAudio } from '../src/media/audio';
import { normaliseInPlace } from '../src/kernels/vector';
import { VoiceEmbedder, fbankOptionsFor, planWindows } from '../src/voice/embed';
import { computeFbank } from '../src/kernels/fbank';
import { OnnxSpeakerModel } from '../src/voice/onnx-speaker';
import { detectSpeech } from '../src/voice/vad';
import { FFMPEG, SENTENCES, VOICES, rng, speak, trimBounds } from './voice-synth';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Composes about `minutes` of speech with pauses and encodes it as MP3; returns the file and its true length. */
function composeLongFile(dir: string, minutes: number): { file: string; seconds: number } {
  const r = rng(42);
  const parts: Float32Array[] = [];
  let n = 0;
  for (let i = 0; n < minutes * 60 * 16000; i++) {
    const x = speak(SENTENCES[i % SENTENCES.length]!, VOICES[i % VOICES.length]!, 140 + Math.floor(r() * 50));
    const [a, b] = trimBounds(x);
    const pause = new Float32Array(Math.round((0.3 + r() * 1.2) * 16000));
    parts.push(x.subarray(a, b), pause);
    n += b - a + pause.length;
  }
  const raw = path.join(dir, 'long.f32');
  const all = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  fs.writeFileSync(raw, Buffer.from(all.buffer));
  const file = path.join(dir, 'long.mp3');
  const e = spawnSync(FFMPEG, ['-v', 'error', '-y', '-f', 'f32le', '-ar', '16000', '-ac', '1', '-i', raw, '-ar', '44100', '-ac', '2', '-b:a', '128k', file]);
  if (e.status !== 0) throw new Error(`ffmpeg: ${e.stderr.toString()}`);
  return { file, seconds: n / 16000 };
}

function secondsSince(t: bigint): number {
  return Number(process.hrtime.bigint() - t) / 1e9;
}

interface SherpaExtractor {
  createStream(): { acceptWaveform(o: { sampleRate: number; samples: Float32Array }): void; inputFinished(): void };
  compute(s: unknown): Float32Array;
}

/** Our adapter and sherpa-onnx on the same model file and the same windows: time and cosine per window. */
async function compareWithSherpa(modelFile: string, windows: Float32Array[]): Promise<Record<string, number | string | Record<string, number>>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sherpa = require('sherpa-onnx-node') as { SpeakerEmbeddingExtractor: new (c: { model: string; numThreads: number; debug: number }) => SherpaExtractor };
  const ours = await OnnxSpeakerModel.fromFile(modelFile);
  const fo = fbankOptionsFor(ours.info.features);
  const ex = new sherpa.SpeakerEmbeddingExtractor({ model: modelFile, numThreads: 1, debug: 0 });
  const a: Float32Array[] = [];
  const b: Float32Array[] = [];
  const runSherpa = (w: Float32Array): Float32Array => {
    const s = ex.createStream();
    s.acceptWaveform({ sampleRate: 16000, samples: w });
    s.inputFinished();
    return normaliseInPlace(Float32Array.from(ex.compute(s)));
  };
  // One untimed run each (session warm-up), then the two alternate window by window so that load changes on a shared
  // machine hit both sides alike.
  if (windows[0]) {
    await ours.embedFeatures(await computeFbank(windows[0], fo));
    runSherpa(windows[0]);
  }
  let oursNs = 0n;
  let sherpaNs = 0n;
  for (const w of windows) {
    let t = process.hrtime.bigint();
    // The shipped path: computeFbank (the native kernel when built) + onnxruntime-node, one intra-op thread.
    a.push(normaliseInPlace(await ours.embedFeatures(await computeFbank(w, fo))));
    oursNs += process.hrtime.bigint() - t;
    t = process.hrtime.bigint();
    b.push(runSherpa(w));
    sherpaNs += process.hrtime.bigint() - t;
  }
  const oursS = Number(oursNs) / 1e9;
  const sherpaS = Number(sherpaNs) / 1e9;
  const audioS = windows.reduce((t, w) => t + w.length, 0) / 16000;
  const cos = a.map((v, i) => v.reduce((s, x, k) => s + x * b[i]![k]!, 0));
  cos.sort((x, y) => x - y);
  // Diagnostic: sherpa-onnx's own fbank defaults differ from the torchaudio settings the models were trained with
  // (snip_edges false, high_freq -400 Hz). With those two changed, our pipeline should agree with sherpa's exactly.
  const same: number[] = [];
  for (const [i, w] of windows.entries()) {
    const v = normaliseInPlace(await ours.embedFeatures(await computeFbank(w, { ...fo, snipEdges: false, highFreq: -400 })));
    same.push(v.reduce((s, x, k) => s + x * b[i]![k]!, 0));
  }
  same.sort((x, y) => x - y);
  return {
    model: ours.id,
    framework: ours.info.framework,
    windows: windows.length,
    oursSeconds: +oursS.toFixed(3),
    sherpaSeconds: +sherpaS.toFixed(3),
    speedRatioSherpaOverOurs: +(sherpaS / oursS).toFixed(3),
    speedRatio: +(sherpaS / oursS).toFixed(3),
    rtf: { ours: +(oursS / audioS).toFixed(5), sherpa: +(sherpaS / audioS).toFixed(5) },
    cosineMean: +(cos.reduce((s, x) => s + x, 0) / cos.length).toFixed(5),
    cosineMin: +cos[0]!.toFixed(5),
    cosineMeanWithSherpaFbankSettings: +(same.reduce((s, x) => s + x, 0) / same.length).toFixed(5),
    cosineMinWithSherpaFbankSettings: +same[0]!.toFixed(5),
  };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const minutes = Number(arg('--minutes') ?? 5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-bench-voice-'));
  try {
    const { file, seconds } = composeLongFile(dir, minutes);
    const modelFile = arg('--model-file');
    const model = arg('--model');
    const embedder = await VoiceEmbedder.create({ ...(modelFile ? { modelFile } : {}), ...(model ? { model } : {}) });
    let t = process.hrtime.bigint();
    const signal = await decodeAudio(file);
    const decodeS = secondsSince(t);
    t = process.hrtime.bigint();
    const speech = await detectSpeech(signal);
    const vadS = secondsSince(t);
    t = process.hrtime.bigint();
    const emb = await embedder.embed(signal, speech);
    const embedS = secondsSince(t);
    const audio = signal.samples.length / 16000;
    const total = decodeS + vadS + embedS;
    const out: Record<string, unknown> = {
      audioSeconds: +audio.toFixed(2),
      composedSeconds: +seconds.toFixed(2),
      model: embedder.modelId,
      isBaseline: embedder.isBaseline,
      speechSeconds: +emb.speechSeconds.toFixed(2),
      windows: emb.windows.length,
      seconds: { decode: +decodeS.toFixed(3), vad: +vadS.toFixed(3), featuresAndEmbedding: +embedS.toFixed(3), total: +total.toFixed(3) },
      rtf: { decode: +(decodeS / audio).toFixed(5), vad: +(vadS / audio).toFixed(5), featuresAndEmbedding: +(embedS / audio).toFixed(5), total: +(total / audio).toFixed(5) },
      cpus: os.cpus().length,
      node: process.version,
    };
    // The bounded-memory path: 60 s chunks straight from ffmpeg, VAD and windows per chunk.
    t = process.hrtime.bigint();
    const streamed = await embedder.embedStream(streamAudio(file, { chunkSeconds: 60 }));
    const streamS = secondsSince(t);
    out.streamed = {
      chunkSeconds: 60,
      seconds: +streamS.toFixed(3),
      rtf: +(streamS / audio).toFixed(5),
      windows: streamed.windows.length,
      cosineWithWholeFile: streamed.embedding && emb.embedding ? +streamed.embedding.reduce((s, x, i) => s + x * emb.embedding![i]!, 0).toFixed(5) : null,
    };
    const plan = planWindows(speech, 0, signal.samples.length, 3, 1.5, 0.2).slice(0, 40);
    const windows = plan.map((w) => {
      const len = w.pieces.reduce((s, [a, b]) => s + b - a, 0);
      const x = new Float32Array(len);
      let o = 0;
      for (const [a, b] of w.pieces) {
        x.set(signal.samples.subarray(a, b), o);
        o += b - a;
      }
      return x;
    });
    if (!embedder.isBaseline) {
      const f = modelFile ?? undefined;
      out.sherpa = f ? await compareWithSherpa(f, windows) : await compareWithSherpa(resolveNeural(embedder.modelId), windows);
    } else {
      out.sherpa = 'skipped: the baseline was chosen (--model baseline-mfcc-stats)';
    }
    if (process.argv.includes('--tiny-check')) {
      const tiny = path.join(dir, 'tiny.onnx');
      const W = Float32Array.from({ length: 80 * 16 }, (_, i) => Math.sin(i * 0.37));
      const meta = { framework: '3d-speaker', sample_rate: '16000', output_dim: '16', normalize_samples: '1', feature_normalize_type: 'global-mean', language: 'English', comment: 'generated pipeline check' };
      fs.writeFileSync(tiny, tinySpeakerModel({ flavour: 'general', dim: 16, weights: W, metadata: meta }));
      out.tinyPipelineCheck = await compareWithSherpa(tiny, windows);
    }
    process.stdout.write(json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function resolveNeural(id: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../src/models/registry') as typeof import('../src/models/registry')).resolveModelFile(id);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
