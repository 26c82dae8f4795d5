import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio } from '../../src/media/audio';
import { detectSpeech } from '../../src/voice/vad';

/** One speaker's turn in a composed ad (seconds). */
export interface TrueTurn {
  speaker: string;
  start: number;
  end: number;
}

/** A small seeded generator (LCG), so composed ads are the same on every run. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Speakers of a LibriSpeech-style folder (one numbered folder of FLAC files per speaker), files sorted. */
export function librispeechSpeakers(root: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of fs.readdirSync(root).filter((d) => /^\d+$/.test(d)).sort()) {
    out.set(s, fs.readdirSync(path.join(root, s)).filter((f) => f.endsWith('.flac')).sort().map((f) => path.join(root, s, f)));
  }
  return out;
}

/**
 * An ad of about `seconds` where `speakers` take turns of 2-10 s with no gap between them (consecutive turns always
 * change speaker): each turn is a piece of one of the speaker's `files` starting at its first detected speech.
 */
export async function composeTurns(rng: () => number, speakers: Map<string, string[]>, seconds: number): Promise<{ samples: Float32Array; turns: TrueTurn[] }> {
  const who = [...speakers.keys()];
  const parts: Float32Array[] = [];
  const turns: TrueTurn[] = [];
  let t = 0;
  let prev = '';
  while (t < seconds) {
    const others = who.filter((w) => w !== prev);
    const speaker = others[Math.floor(rng() * others.length)]!;
    const files = speakers.get(speaker)!;
    const file = files[Math.floor(rng() * files.length)]!;
    const sig = await decodeAudio(file);
    const speech = await detectSpeech(sig);
    const from = Math.round(Math.max(0, (speech[0]?.start ?? 0) - 0.05) * 16000);
    const until = Math.round((speech[speech.length - 1]?.end ?? sig.samples.length / 16000) * 16000);
    const avail = (until - from) / 16000;
    if (avail < 2) continue;
    const len = Math.min(avail, 2 + rng() * 8);
    const piece = sig.samples.slice(from, from + Math.round(len * 16000));
    parts.push(piece);
    turns.push({ speaker, start: t, end: t + piece.length / 16000 });
    t += piece.length / 16000;
    prev = speaker;
  }
  const samples = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    samples.set(p, o);
    o += p.length;
  }
  return { samples, turns };
}

/** Writes 16 kHz mono float samples as a 16-bit PCM WAV file. */
export function writeWav16k(file: string, samples: Float32Array): string {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + samples.length * 2, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(16000, 24);
  h.writeUInt32LE(32000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(samples.length * 2, 40);
  const body = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) body.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767))), i * 2);
  fs.writeFileSync(file, Buffer.concat([h, body]));
  return file;
}
