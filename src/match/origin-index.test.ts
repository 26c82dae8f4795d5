import { execFileSync } from 'child_process';
import * as path from 'path';
import { thrownCode } from '../../test/helpers/error-code';
import { decodeAudio } from '../media/audio';
import { audioFingerprint, type AudioFingerprint } from '../media/audio-fingerprint';
import { ffmpegPath } from '../media/ffmpeg';
import { describeIf } from '../../test/helpers/requires';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../../test/helpers/media';
import { MUSIC_SOURCE, OTHER_SENTENCES as OTHER, REFERENCE_TEXTS as TEXTS } from '../../test/helpers/origin-media';
import { OriginIndex, VOICE_THRESHOLD, deserializeFingerprint, serializeFingerprint } from './origin-index';

// Reuse of an enrolled recording under the transforms of issue 16 (AAC 48 kb/s, tempo 0.95-1.05 with pitch kept,
// music at -10 dB) is found with the right reference and offset; other sentences of the same voice are not.

function ffmpeg(args: string[]): void {
  execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

describeIf(hasEspeak(), 'espeak-ng')('voice origin lookup', () => {
  const tmp = makeTmpDir('lg-origin-');
  const refs: AudioFingerprint[] = [];
  let index: OriginIndex;
  const file = (n: string): string => path.join(tmp.dir, n);

  beforeAll(async () => {
    for (let i = 0; i < TEXTS.length; i++) {
      makeSpeechWav(TEXTS[i]!, file(`ref${i}.wav`), { voice: 'en-us', speed: 125 });
      refs.push(await audioFingerprint(await decodeAudio(file(`ref${i}.wav`))));
    }
    // Background "music": a chord progression (project-made with ffmpeg's aevalsrc).
    ffmpeg(['-f', 'lavfi', '-i', MUSIC_SOURCE, file('music.wav')]);
    // Through the storage format, as the scan will read them.
    index = OriginIndex.build(refs.map((fp, i) => ({ referenceId: `rec-${i}`, fingerprint: deserializeFingerprint(serializeFingerprint(fp)) })));
  });
  afterAll(() => tmp.cleanup());

  test('the references are long enough for segments taken up to 30 s in', () => {
    for (const r of refs) expect(r.subprints.length * r.hopSeconds).toBeGreaterThan(30);
    expect(index.size).toEqual({ visual: 0, audio: TEXTS.length });
  });

  const transforms: [string, (src: string, start: number, dur: number, dst: string) => string][] = [
    ['AAC 48 kb/s', (src, s, d, dst) => { ffmpeg(['-ss', String(s), '-t', String(d), '-i', src, '-c:a', 'aac', '-b:a', '48k', dst + '.m4a']); return dst + '.m4a'; }],
    ['tempo 0.95', (src, s, d, dst) => { ffmpeg(['-ss', String(s), '-t', String(d), '-i', src, '-af', 'atempo=0.95', dst + '.wav']); return dst + '.wav'; }],
    ['tempo 1.05 + AAC 48 kb/s', (src, s, d, dst) => { ffmpeg(['-ss', String(s), '-t', String(d), '-i', src, '-af', 'atempo=1.05', '-c:a', 'aac', '-b:a', '48k', dst + '.m4a']); return dst + '.m4a'; }],
    ['music at -10 dB + AAC 48 kb/s', (src, s, d, dst) => { ffmpeg(['-ss', String(s), '-t', String(d), '-i', src, '-i', file('music.wav'), '-filter_complex', '[1:a]volume=-10dB[m];[0:a][m]amix=inputs=2:duration=first:normalize=0', '-c:a', 'aac', '-b:a', '48k', dst + '.m4a']); return dst + '.m4a'; }],
  ];
  const segments: [number, number, number][] = [
    [0, 0, 2],
    [1, 13.7, 10],
    [2, 28, 2],
    [0, 21.3, 5],
    // Longer than one probe batch (20 s): the votes of both batches add up.
    [3, 4, 25],
  ];

  test.each(transforms)('%s: every segment finds its recording and offset within 0.5 s', async (_name, make) => {
    for (const [r, start, dur] of segments) {
      const dst = file(`q-${r}-${start}-${dur}`);
      const made = make(file(`ref${r}.wav`), start, dur, dst);
      const m = index.lookupVoice(await audioFingerprint(await decodeAudio(made)));
      expect({ r, start, dur, id: m?.referenceId }).toEqual({ r, start, dur, id: `rec-${r}` });
      expect(Math.abs(m!.referenceOffset - start)).toBeLessThanOrEqual(0.5);
      expect(m!.similarity).toBeGreaterThanOrEqual(VOICE_THRESHOLD);
      expect(m!.similarity).toBeLessThanOrEqual(1);
    }
  });

  test('other sentences of the same voice, another voice and a tone are not reuse', async () => {
    for (const [i, t] of OTHER.entries()) {
      makeSpeechWav(t, file(`other${i}.wav`), { voice: 'en-us', speed: 125 });
      expect(index.lookupVoice(await audioFingerprint(await decodeAudio(file(`other${i}.wav`))))).toBeNull();
    }
    makeSpeechWav(TEXTS[0]!, file('other-voice.wav'), { voice: 'en-us+f4', speed: 125 });
    expect(index.lookupVoice(await audioFingerprint(await decodeAudio(file('other-voice.wav'))))).toBeNull();
    ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=5', file('tone.wav')]);
    expect(index.lookupVoice(await audioFingerprint(await decodeAudio(file('tone.wav'))))).toBeNull();
  });

  test('the same sentence synthesised again is the same recording (espeak-ng is deterministic), so it is reuse', async () => {
    makeSpeechWav(TEXTS[1]!, file('again.wav'), { voice: 'en-us', speed: 125 });
    const m = index.lookupVoice(await audioFingerprint(await decodeAudio(file('again.wav'))));
    expect(m?.referenceId).toBe('rec-1');
    expect(m!.referenceOffset).toBeLessThanOrEqual(0.5);
  });
});

describe('origin index input checks', () => {
  const audio: AudioFingerprint = { kind: 'audio', version: 1, hopSeconds: 0.01, subprints: new Uint32Array(4), voiced: new Uint8Array(4) };

  test('malformed entries and queries are E_INPUT', () => {
    expect(thrownCode(() => OriginIndex.build(null as never))).toBe('E_INPUT');
    expect(thrownCode(() => OriginIndex.build([{ referenceId: '', fingerprint: audio }]))).toBe('E_INPUT');
    expect(thrownCode(() => OriginIndex.build([{ referenceId: 'a', fingerprint: { kind: 'audio' } as never }]))).toBe('E_INPUT');
    expect(thrownCode(() => OriginIndex.build([{ referenceId: 'a', fingerprint: { kind: 'visual', frames: [{ time: 0, hash: new Uint32Array(3) }] } as never }]))).toBe('E_INPUT');
    const index = OriginIndex.build([{ referenceId: 'a', fingerprint: audio }]);
    expect(thrownCode(() => index.lookupVoice(null as never))).toBe('E_INPUT');
    expect(thrownCode(() => index.lookupFace([]))).toBe('E_INPUT');
    expect(thrownCode(() => index.lookupFace([{ time: 0, hashes: new Uint32Array(3) }]))).toBe('E_INPUT');
    expect(thrownCode(() => index.lookupFace([{ time: NaN, hashes: new Uint32Array(2) }]))).toBe('E_INPUT');
    // A query canvas of the wrong type or size, a frame with neither hashes nor canvas, a visual frame without verification words.
    expect(thrownCode(() => index.lookupFace([{ time: 0, canvas: new Float32Array(7) }]))).toBe('E_INPUT');
    expect(thrownCode(() => index.lookupFace([{ time: 0, canvas: [1, 2] as never }]))).toBe('E_INPUT');
    expect(thrownCode(() => index.lookupFace([{ time: 0 }]))).toBe('E_INPUT');
    expect(thrownCode(() => OriginIndex.build([{ referenceId: 'a', fingerprint: { kind: 'visual', still: true, frames: [{ time: 0, hash: new Uint32Array(2), mirror: new Uint32Array(2) }] } as never }]))).toBe('E_INPUT');
    expect(thrownCode(() => serializeFingerprint({ kind: 'x' } as never))).toBe('E_INPUT');
    expect(thrownCode(() => deserializeFingerprint(new Uint8Array([1, 7, 1, 0, 0, 0, 0, 0])))).toBe('E_DECODE');
    expect(thrownCode(() => deserializeFingerprint('x' as never))).toBe('E_INPUT');
  });

  test('an empty index finds nothing', () => {
    const index = OriginIndex.build([]);
    expect(index.lookupVoice(audio)).toBeNull();
    expect(index.lookupFace([{ time: 0, hashes: new Uint32Array(2) }])).toBeNull();
  });
});
