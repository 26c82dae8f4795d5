import * as fs from 'fs';
import * as path from 'path';
import { Guard } from '../../src/guard';
import { isScanFailure, type ScanResult } from '../../src/report/schema';
import { makeTmpDir } from '../helpers/media';
import { testIf } from '../helpers/requires';
import { composeTurns, librispeechSpeakers, seeded, writeWav16k, type TrueTurn } from '../helpers/turn-ads';

// Real speech from ../shared/eval (internal evaluation data, read at run time and never copied into the project):
// the ten LibriSpeech test-other speakers of resemblyzer's sample data. Five are enrolled (their first three files),
// and ads of 2-4 speakers drawn from all ten take turns of 2-10 s with no gap, made from their other files.
const ROOT = path.resolve(__dirname, '..', '..', '..', 'shared', 'eval', 'voices', 'resemblyzer', 'audio_data', 'librispeech_test-other');
const present = fs.existsSync(ROOT);
const ADS = 8;

testIf(present, '../shared/eval')(
  'speaker turns: each performer segment lies within 0.5 s of one of their turns; every turn >= 3 s is found',
  async () => {
    const { dir, cleanup } = makeTmpDir('likeness-turns-');
    const guard = await Guard.open({ db: path.join(dir, 'store.db') });
    try {
      const all = librispeechSpeakers(ROOT);
      expect(all.size).toBe(10);
      const speakers = [...all.keys()];
      const enrolled = new Map<string, string>();
      for (const s of speakers.slice(0, 5)) {
        const r = await guard.enroll({ name: `Speaker ${s}`, noConsent: true }, all.get(s)!.slice(0, 3));
        expect(r.performerId).not.toBeNull();
        enrolled.set(r.performerId!, s);
      }
      const held = new Map([...all].map(([s, files]) => [s, files.slice(3)]));
      let segments = 0;
      let outside = 0;
      let longTurns = 0;
      let found = 0;
      const problems: string[] = [];
      for (let ad = 0; ad < ADS; ad++) {
        const rng = seeded(1000 + ad);
        const k = 2 + (ad % 3);
        const pick = [...speakers].sort(() => rng() - 0.5).slice(0, k);
        const { samples, turns } = await composeTurns(rng, new Map(pick.map((s) => [s, held.get(s)!])), 30);
        const file = writeWav16k(path.join(dir, `ad-${ad}.wav`), samples);
        const r = await guard.scan(file, { faces: false });
        expect(isScanFailure(r)).toBe(false);
        const voice = (r as ScanResult).matches.filter((m) => m.modality === 'voice');
        for (const m of voice) {
          const speaker = enrolled.get(m.performerId)!;
          const own = turns.filter((t) => t.speaker === speaker);
          for (const s of m.segments) {
            segments++;
            if (!own.some((t) => s.start >= t.start - 0.5 && s.end <= t.end + 0.5)) {
              outside++;
              problems.push(`ad ${ad}: ${speaker} at ${s.start}-${s.end}; turns ${fmt(turns)}`);
            }
          }
        }
        for (const t of turns) {
          if (t.end - t.start < 3 || ![...enrolled.values()].includes(t.speaker)) continue;
          longTurns++;
          const m = voice.find((x) => enrolled.get(x.performerId) === t.speaker);
          const cover = Math.max(0, ...(m?.segments ?? []).map((s) => Math.min(s.end, t.end) - Math.max(s.start, t.start)));
          if (cover >= 0.5 * (t.end - t.start)) found++;
          else problems.push(`ad ${ad}: ${t.speaker} ${t.start.toFixed(2)}-${t.end.toFixed(2)} covered ${cover.toFixed(2)} s`);
        }
      }
      console.log(`speaker turns over ${ADS} ads: ${segments} performer segments, ${outside} outside their turns; ${found}/${longTurns} performer turns >= 3 s found\n${problems.join('\n')}`);
      expect(longTurns).toBeGreaterThan(10);
      expect(outside).toBe(0);
      expect(found).toBe(longTurns);
    } finally {
      await guard.close();
      cleanup();
    }
  },
);

function fmt(turns: TrueTurn[]): string {
  return turns.map((t) => `${t.speaker}:${t.start.toFixed(1)}-${t.end.toFixed(1)}`).join(' ');
}
