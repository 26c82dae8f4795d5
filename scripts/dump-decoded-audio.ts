// Decodes audio files with the project's own decoder and writes each 16 kHz mono signal as raw float32 LE, so that
// scripts/make-fbank-goldens.py computes reference features on exactly the samples the library sees.
// Usage: node -r @swc-node/register scripts/dump-decoded-audio.ts IN OUT.f32 [IN OUT.f32 ...]
import * as fs from 'fs';
import { decodeAudio } from '../src/media/audio';

async function run(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv.length % 2 !== 0) throw new Error('usage: dump-decoded-audio.ts IN OUT.f32 [IN OUT.f32 ...]');
  for (let i = 0; i < argv.length; i += 2) {
    const a = await decodeAudio(argv[i]);
    fs.writeFileSync(argv[i + 1], Buffer.from(a.samples.buffer, a.samples.byteOffset, a.samples.byteLength));
  }
}

run(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
