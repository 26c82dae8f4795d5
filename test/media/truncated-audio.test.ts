import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { decodeAudio } from '../../src/media/audio';
import { ffmpegPath, newDecodeReport, oggTruncation } from '../../src/media/ffmpeg';
import { makeTmpDir, truncateFile } from '../helpers/media';

// Truncated MP3, WebM and Ogg files are never decoded as complete: without tolerateDamage they are E_DECODE
// (`truncated`); with it, what decodes comes back and the report says truncated, with a warning. ffmpeg notices
// cut-off MP3 and WebM itself; a cut-off Ogg it does not (no duration header), so its page structure is checked.

const tmp = makeTmpDir('lg-truncated-audio-');
afterAll(() => tmp.cleanup());
const f = (n: string): string => path.join(tmp.dir, n);
const speech = path.join(__dirname, '..', 'fixtures', 'voice', 'espeak-m3.wav');
const codecs: Record<string, string[]> = { mp3: ['-c:a', 'libmp3lame'], webm: ['-c:a', 'libopus'], ogg: ['-c:a', 'libvorbis'], opus: ['-c:a', 'libopus'] };

beforeAll(() => {
  for (const [ext, args] of Object.entries(codecs)) {
    execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', speech, ...args, f(`full.${ext}`)]);
    truncateFile(f(`full.${ext}`), f(`cut.${ext}`), 0.6);
  }
});

test.each(Object.keys(codecs))('a cut-off .%s: E_DECODE truncated, or with tolerateDamage what decodes, marked truncated', async (ext) => {
  const full = await decodeAudio(f(`full.${ext}`));
  expect(full.samples.length / 16000).toBeGreaterThan(4.5);
  await expect(decodeAudio(f(`cut.${ext}`))).rejects.toMatchObject({ code: 'E_DECODE', details: { reason: 'truncated' } });
  const report = newDecodeReport();
  const part = await decodeAudio(f(`cut.${ext}`), { tolerateDamage: true, report });
  expect(part.samples.length).toBeLessThan(full.samples.length);
  expect(report.truncated).toBe(true);
  expect(report.warnings.join('\n')).toMatch(/truncated/);
});

test('oggTruncation: complete files pass; a cut inside a page, or at a page boundary before the end-of-stream page, does not', () => {
  expect(oggTruncation(f('full.ogg'))).toBeNull();
  expect(oggTruncation(f('full.opus'))).toBeNull();
  expect(oggTruncation(f('full.mp3'))).toBeNull(); // not Ogg
  expect(oggTruncation(f('cut.ogg'))).toMatch(/cut off/);
  const bytes = fs.readFileSync(f('full.ogg'));
  const lastPage = bytes.lastIndexOf('OggS');
  fs.writeFileSync(f('boundary.ogg'), bytes.subarray(0, lastPage));
  expect(oggTruncation(f('boundary.ogg'))).toMatch(/without its end-of-stream page/);
  expect(oggTruncation(f('missing.ogg'))).toBeNull();
});
