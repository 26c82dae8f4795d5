import * as path from 'path';
import { SAME_SPEAKER_COSINE, clusterTurns } from '../../src/enroll/video-reference';
import { dot } from '../../src/kernels/vector';
import { decodeAudio } from '../../src/media/audio';
import { VoiceEmbedder } from '../../src/voice/embed';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../helpers/media';
import { describeIf } from '../helpers/requires';

// The speaker clustering of reference-video soundtracks (enroll/video-reference.ts) rests on SAME_SPEAKER_COSINE:
// whole sentences of one espeak-ng voice must score above it and sentences of two voices below, with the shipped model.
// The values are printed: they are the measurement the constant's comment cites.

const SENTENCES = [
  'The morning train was late again, so everyone waited on the cold platform.',
  'She opened the old wooden box and found a stack of letters tied with string.',
  'Our team finished the project two days before the deadline this spring.',
  'Please remember to water the plants while I am away on holiday next week.',
];
const VOICES = ['en-us+m3', 'en+f4'];
const tmp = makeTmpDir('lg-spk-');
afterAll(() => tmp.cleanup());

describeIf(hasEspeak(), 'espeak-ng')('speaker clustering of turns', () => {
  test('sentences of one voice cluster together, two voices stay apart (cosines printed)', async () => {
    const ve = await VoiceEmbedder.create();
    const emb: Float32Array[] = [];
    const who: number[] = [];
    for (let v = 0; v < VOICES.length; v++) {
      for (let i = 0; i < SENTENCES.length; i++) {
        const f = makeSpeechWav(SENTENCES[i]!, path.join(tmp.dir, `v${v}-${i}.wav`), { voice: VOICES[v] });
        emb.push(await ve.embedSamples((await decodeAudio(f)).samples));
        who.push(v);
      }
    }
    const same: number[] = [];
    const other: number[] = [];
    for (let i = 0; i < emb.length; i++) for (let j = i + 1; j < emb.length; j++) (who[i] === who[j] ? same : other).push(dot(emb[i]!, 0, emb[j]!, 0, emb[i]!.length));
    console.log(`${ve.modelId}: same voice min ${Math.min(...same).toFixed(3)}, two voices max ${Math.max(...other).toFixed(3)}, threshold ${SAME_SPEAKER_COSINE}`);
    expect(Math.min(...same)).toBeGreaterThan(SAME_SPEAKER_COSINE);
    expect(Math.max(...other)).toBeLessThan(SAME_SPEAKER_COSINE);
    const clusters = clusterTurns(emb).map((c) => c.sort((a, b) => a - b));
    expect(clusters.sort((a, b) => a[0]! - b[0]!)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
  });
});

test('clusterTurns: average linkage merges only clusters at or above the cosine', () => {
  const u = (x: number, y: number): Float32Array => {
    const n = Math.hypot(x, y);
    return Float32Array.from([x / n, y / n]);
  };
  expect(clusterTurns([u(1, 0), u(1, 0.1), u(0, 1), u(0.1, 1)], 0.65).map((c) => c.sort())).toEqual([[0, 1], [2, 3]]);
  expect(clusterTurns([u(1, 0), u(0, 1)], 0)).toEqual([[0, 1]]);
  expect(clusterTurns([])).toEqual([]);
});
