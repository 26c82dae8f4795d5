// Front-end parity of the shipped neural voice models: our end-to-end embedding (project decoder, TS/native Kaldi
// fbank, ONNX Runtime) against the PyTorch reference that scripts/models/convert_voice.py computed on the same decoded
// samples (torchaudio kaldi fbank + the package's own model class) and committed in test/fixtures/voice/<id>.golden.json.
// Inputs: espeak-ng speech made by the script (committed WAVs) and the alsa-utils sample recordings (read from
// /usr/share/sounds/alsa, which .ci/run installs). No Python is needed here.
import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio } from '../../src/media/audio';
import { DEFAULT_VOICE_MODEL, VoiceEmbedder } from '../../src/voice/embed';
import { testIf } from '../helpers/requires';

interface Golden {
  model: string;
  inputs: { name: string; file: string; seconds: number; embedding: number[] }[];
}

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'voice');
const goldenFiles = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.golden.json'));

function cosine(a: Float32Array, b: number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

test('the default voice model is neural and has goldens', () => {
  expect(DEFAULT_VOICE_MODEL).not.toBe('baseline-mfcc-stats');
  expect(goldenFiles).toContain(`${DEFAULT_VOICE_MODEL}.golden.json`);
});

for (const gf of goldenFiles) {
  const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, gf), 'utf8')) as Golden;
  describe(`${golden.model} matches its PyTorch reference`, () => {
    let embedder: VoiceEmbedder;
    beforeAll(async () => {
      embedder = await VoiceEmbedder.create({ model: golden.model });
    });

    test('loads the shipped model', () => {
      expect(embedder.modelId).toBe(golden.model);
      expect(embedder.isBaseline).toBe(false);
      expect(embedder.dim).toBe(golden.inputs[0]!.embedding.length);
    });

    for (const input of golden.inputs) {
      const file = path.isAbsolute(input.file) ? input.file : path.join(ROOT, input.file);
      testIf(fs.existsSync(file), file)(`${input.name}: cosine >= 0.999`, async () => {
        const audio = await decodeAudio(file);
        expect(Math.abs(audio.samples.length / 16000 - input.seconds)).toBeLessThan(0.01);
        const e = await embedder.embedSamples(audio.samples);
        expect(cosine(e, input.embedding)).toBeGreaterThanOrEqual(0.999);
      });
    }

    test('different speech gives a clearly different embedding (the check can fail)', async () => {
      const a = golden.inputs[0]!;
      const b = golden.inputs[1]!;
      expect(cosine(Float32Array.from(a.embedding), b.embedding)).toBeLessThan(0.99);
    });
  });
}
