import * as fs from 'fs';
import * as path from 'path';
import { hasEspeak, makeSpeechWav, makeTmpDir } from '../../test/helpers/media';
import { voiceCommands } from '../cli/commands-voice';
import { DEFAULT_VOICE_MODEL, VoiceEmbedder } from '../voice/embed';
import { FAILED_TRIAL_SCORE, evalVoiceTrials, parseAudioRef } from './voice-eval';
import { testIf } from '../../test/helpers/requires';

const tmp = makeTmpDir('lk-veval-');
afterAll(tmp.cleanup);

test('parseAudioRef: plain paths, #START-END segments, malformed segments', () => {
  expect(parseAudioRef('a/b.flac')).toEqual({ file: 'a/b.flac' });
  expect(parseAudioRef('a/b.flac#1.5-3')).toEqual({ file: 'a/b.flac', start: 1.5, end: 3 });
  expect(parseAudioRef('odd#name.wav')).toEqual({ file: 'odd#name.wav' });
  expect(() => parseAudioRef('a.wav#3-1')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
  expect(() => parseAudioRef('a.wav#-1')).toThrow(expect.objectContaining({ code: 'E_INPUT' }));
});

testIf(hasEspeak(), 'espeak-ng')('eval voices: every trial scored or counted failed, segments decoded, JSON from the CLI', async () => {
  const d = tmp.dir;
  makeSpeechWav('The quick brown fox jumps over the lazy dog near the river bank.', path.join(d, 'm1.wav'), { voice: 'en-us+m3' });
  makeSpeechWav('Seven silver spoons were found under the old wooden table.', path.join(d, 'm2.wav'), { voice: 'en-us+m3' });
  makeSpeechWav('The quick brown fox jumps over the lazy dog near the river bank.', path.join(d, 'f1.wav'), { voice: 'en+f4' });
  makeSpeechWav('Seven silver spoons were found under the old wooden table.', path.join(d, 'f2.wav'), { voice: 'en+f4' });
  fs.writeFileSync(path.join(d, 'empty.wav'), Buffer.alloc(0));
  const csv = [
    'fileA,fileB,same,note',
    'm1.wav,m2.wav,1,x',
    'f1.wav,f2.wav,1,x',
    'm1.wav#0.3-2.5,m2.wav,1,segment',
    'm1.wav,f1.wav,0,x',
    'm2.wav,f2.wav,0,x',
    'm1.wav,f2.wav,0,x',
    'empty.wav,m1.wav,1,broken',
    'missing.wav,f1.wav,0,broken',
  ].join('\r\n');
  fs.writeFileSync(path.join(d, 'trials.csv'), csv);
  const e = await VoiceEmbedder.create({ model: 'baseline-mfcc-stats' });
  const r = await evalVoiceTrials(e, path.join(d, 'trials.csv'), d);
  expect(r).toMatchObject({ trials: 8, scored: 6, failed: 2, model: 'baseline-mfcc-stats' });
  expect(r.failures).toEqual(expect.arrayContaining([
    { file: 'empty.wav', code: 'E_DECODE' },
    { file: 'missing.wav', code: 'E_NOT_FOUND' },
  ]));
  expect(r.scores[6]!.score).toBe(FAILED_TRIAL_SCORE);
  // The failed same-voice trial counts as a miss, so the genuine side can never be perfect.
  expect(r.tarAtFar['1e-2']).toBeLessThanOrEqual(3 / 4);
  expect(r.auc).toBeGreaterThan(0.5);
  expect(r.rtf).toBeGreaterThan(0);
  expect(r.minDcf01).toBeGreaterThanOrEqual(0);
  // Every espeak clip has well over 1 s of speech; the trials with the broken files have none on one side.
  expect(r.longSpeech).toMatchObject({ minSpeechSeconds: 1, trials: 6 });

  let out = '';
  let err = '';
  const code = await voiceCommands['eval voices']!(['--trials', path.join(d, 'trials.csv'), '--root', d, '--json'], {
    out: (s) => (out += s),
    err: (s) => (err += s),
    isTTY: false,
    status: () => undefined,
  });
  expect(code).toBe(0);
  const j = JSON.parse(out);
  expect(Object.keys(j).sort()).toEqual(['auc', 'eer', 'failed', 'failures', 'longSpeech', 'minDcf01', 'model', 'rtf', 'scored', 'tarAtFar', 'thresholdAtFar', 'trials'].sort());
  expect(j.model).toBe(DEFAULT_VOICE_MODEL);
  expect(err).not.toMatch(/baseline/);
  err = '';
  await voiceCommands['eval voices']!(['--trials', path.join(d, 'trials.csv'), '--root', d, '--model', 'baseline-mfcc-stats', '--json'], {
    out: () => undefined,
    err: (s) => (err += s),
    isTTY: false,
    status: () => undefined,
  });
  expect(err).toMatch(/baseline.*chosen explicitly/);
  await expect(voiceCommands['eval voices']!(['--root', d], { out: () => undefined, err: () => undefined, isTTY: false, status: () => undefined })).rejects.toMatchObject({ code: 'E_INPUT' });
});
