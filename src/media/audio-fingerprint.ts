import { computeFbank } from '../kernels/fbank';
import { fingerprintHeader, readFingerprintHeader } from './fingerprint-format';
import { audioSignal } from '../validate';
import type { AudioSignal } from './audio';

// Audio fingerprints of reference recordings and scanned speech, for telling reuse of an enrolled recording from new
// speech by the same voice (issue 16).
//
// Why hand-written and not ffmpeg's chromaprint muxer (which Debian's ffmpeg 5.1 has, `-f chromaprint -fp_format raw`):
// chromaprint emits one sub-fingerprint per 124 ms only after its chroma filter and 16-frame classifiers have filled,
// so 2 s of audio give no fingerprint at all and 3 s give three items (measured with ffmpeg 5.1.9 on espeak-ng
// speech: 0 bytes for 2 s, 12 bytes for 3 s). Scanned speech segments are 2-10 s, so chromaprint cannot serve them. This
// is the Haitsma-Kalker (Philips) fingerprint instead, on our own Kaldi filterbank kernel (native, with its TS twin):
// 33 log-mel bands over overlapping 10 ms-hop frames, one 32-bit sub-fingerprint per frame whose bit m is the sign of
// the band-energy difference (E[n][m] - E[n][m+1]) minus the same difference `DELTA` frames earlier. It needs no
// subprocess, costs one filterbank pass, and gives 100 sub-fingerprints per second from the first 100 ms on.

/** Version of the audio fingerprint algorithm; fingerprints of different versions are not comparable. */
export const AUDIO_FINGERPRINT_VERSION = 1;

/** Seconds between consecutive sub-fingerprints. */
export const AUDIO_FP_HOP_SECONDS = 0.01;

/** Filterbank behind the fingerprint: 34 bands give 33 differences, of which 32 make the bits. */
const BANDS = 34;
const WINDOW_MS = 100;
/** Frames between the two spectra whose band differences are compared. */
const DELTA = 2;
/** Frames quieter than this RMS (about -54 dBFS) are silence: their bits carry no information and are masked out. */
const SILENCE_RMS = 2e-3;

/** An audio fingerprint: one 32-bit sub-fingerprint per {@link AUDIO_FP_HOP_SECONDS}, and which of them are usable. */
export interface AudioFingerprint {
  kind: 'audio';
  /** {@link AUDIO_FINGERPRINT_VERSION} of the algorithm that made it. */
  version: number;
  /** Seconds between sub-fingerprints. */
  hopSeconds: number;
  /** Sub-fingerprint n describes the audio around `n * hopSeconds` from the signal start. */
  subprints: Uint32Array;
  /** 1 where sub-fingerprint n is audible (not silence); silent ones take no part in matching. */
  voiced: Uint8Array;
}

/**
 * The fingerprint of a 16 kHz mono signal (what `decodeAudio` returns). Times are relative to the signal's first
 * sample (its `offset` is not added). A signal shorter than one analysis window gives an empty fingerprint.
 */
export async function audioFingerprint(signal: AudioSignal): Promise<AudioFingerprint> {
  const { samples } = audioSignal('signal', signal);
  const shift = Math.round(AUDIO_FP_HOP_SECONDS * 16000);
  const win = Math.round((WINDOW_MS / 1000) * 16000);
  const fb = samples.length >= win
    ? await computeFbank(samples, { numBins: BANDS, frameLengthMs: WINDOW_MS, frameShiftMs: AUDIO_FP_HOP_SECONDS * 1000, window: 'hanning', preemphasis: 0, lowFreq: 250, highFreq: 4000, removeDcOffset: true })
    : { frames: 0, bins: BANDS, data: new Float32Array(0) };
  const n = fb.frames;
  const subprints = new Uint32Array(n);
  const voiced = new Uint8Array(n);
  const e = fb.data;
  for (let t = 0; t < n; t++) {
    let ss = 0;
    const s0 = t * shift;
    for (let i = s0; i < s0 + win; i++) ss += samples[i]! * samples[i]!;
    voiced[t] = Math.sqrt(ss / win) >= SILENCE_RMS ? 1 : 0;
  }
  for (let t = DELTA; t < n; t++) {
    const a = t * BANDS;
    const b = (t - DELTA) * BANDS;
    let bits = 0;
    for (let m = 0; m < 32; m++) {
      const d = e[a + m]! - e[a + m + 1]! - (e[b + m]! - e[b + m + 1]!);
      if (d > 0) bits |= 1 << m;
    }
    subprints[t] = bits >>> 0;
  }
  // The first DELTA frames have nothing to compare with.
  for (let t = 0; t < Math.min(DELTA, n); t++) voiced[t] = 0;
  return { kind: 'audio', version: AUDIO_FINGERPRINT_VERSION, hopSeconds: AUDIO_FP_HOP_SECONDS, subprints, voiced };
}

const audioBytes = (n: number): number => n * 4 + Math.ceil(n / 8);

/** The bytes of an audio fingerprint (header, little-endian sub-fingerprints, voiced bitset), for storage as an opaque artefact. */
export function serializeAudioFingerprint(fp: AudioFingerprint): Uint8Array {
  const n = fp.subprints.length;
  const { out, view } = fingerprintHeader('audio', fp.version, n, audioBytes(n));
  for (let i = 0; i < n; i++) view.setUint32(8 + i * 4, fp.subprints[i]!, true);
  const mask = 8 + n * 4;
  for (let i = 0; i < n; i++) if (fp.voiced[i]) out[mask + (i >> 3)]! |= 1 << (i & 7);
  return out;
}

/** The audio fingerprint in bytes made by {@link serializeAudioFingerprint}; E_DECODE / E_UNSUPPORTED for other bytes. */
export function deserializeAudioFingerprint(bytes: Uint8Array): AudioFingerprint {
  const { count: n, view } = readFingerprintHeader(bytes, 'audio', AUDIO_FINGERPRINT_VERSION, audioBytes);
  const subprints = new Uint32Array(n);
  const voiced = new Uint8Array(n);
  for (let i = 0; i < n; i++) subprints[i] = view.getUint32(8 + i * 4, true);
  const mask = 8 + n * 4;
  for (let i = 0; i < n; i++) voiced[i] = (bytes[mask + (i >> 3)]! >> (i & 7)) & 1;
  return { kind: 'audio', version: AUDIO_FINGERPRINT_VERSION, hopSeconds: AUDIO_FP_HOP_SECONDS, subprints, voiced };
}
