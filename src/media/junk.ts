import type { RgbImage } from '../types';
import { AUDIO_SAMPLE_RATE } from './audio';

// Canonical junk: inputs that hold no face and no voice, yet each embedder maps to some vector. The face and voice
// pipelines embed these once per model; a template or query close to one of them is degenerate (it would match
// other junk, and an attacker's junk, better than any person). scripts/junk-embeddings.ts measures them.

/** Deterministic pseudo-random numbers in [0, 1) (xorshift32), so the junk set is the same in every process. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function image(size: number, pixel: (x: number, y: number, c: number) => number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(pixel(x, y, c))));
  return { width: size, height: size, data };
}

/**
 * Junk aligned face crops (`size` x `size` RGB): flat grey levels, flat colours, uniform noise, a gradient and a
 * checkerboard, by name.
 */
export function faceJunkCrops(size = 112): Record<string, RgbImage> {
  const noise = rng(0x5eed);
  return {
    black: image(size, () => 0),
    grey64: image(size, () => 64),
    grey127: image(size, () => 127),
    grey192: image(size, () => 192),
    white: image(size, () => 255),
    red: image(size, (_x, _y, c) => (c === 0 ? 200 : 30)),
    green: image(size, (_x, _y, c) => (c === 1 ? 200 : 30)),
    blue: image(size, (_x, _y, c) => (c === 2 ? 200 : 30)),
    noise: image(size, () => noise() * 256),
    gradient: image(size, (x, y) => ((x + y) * 255) / (2 * size)),
    checker: image(size, (x, y) => (((x >> 3) + (y >> 3)) & 1 ? 230 : 25)),
  };
}

/**
 * Junk 16 kHz signals of `seconds` each: silence, DC offsets, pure tones, white noise, a click train and a
 * full-scale square wave, by name.
 */
export function voiceJunkSignals(seconds = 3): Record<string, Float32Array> {
  const n = Math.round(seconds * AUDIO_SAMPLE_RATE);
  const gen = (f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
  const noise = rng(0xa0d10);
  const t = (i: number): number => i / AUDIO_SAMPLE_RATE;
  return {
    silence: gen(() => 0),
    dcLow: gen(() => 0.01),
    dcHigh: gen(() => 0.5),
    tone100: gen((i) => 0.5 * Math.sin(2 * Math.PI * 100 * t(i))),
    tone440: gen((i) => 0.5 * Math.sin(2 * Math.PI * 440 * t(i))),
    tone1k: gen((i) => 0.5 * Math.sin(2 * Math.PI * 1000 * t(i))),
    tone4k: gen((i) => 0.5 * Math.sin(2 * Math.PI * 4000 * t(i))),
    noiseLoud: gen(() => noise() - 0.5),
    noiseQuiet: gen(() => 0.01 * (noise() - 0.5)),
    clicks: gen((i) => (i % 1600 === 0 ? 0.9 : 0)),
    square: gen((i) => (Math.floor(t(i) * 200) % 2 ? 0.95 : -0.95)),
  };
}
