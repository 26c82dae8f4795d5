// Per speech turn of the demo's ad.mp4: cosine with the performer's reference voice, for each neural voice model.
// Run `npm run demo` first (it writes demo-output/media/). usage: node -r @swc-node/register scripts/demo-voice-scores.ts
import { decodeAudio } from '../src/media/audio';
import { VoiceEmbedder } from '../src/voice/embed';
import { detectSpeech } from '../src/voice/vad';
async function main() {
  for (const id of ['campplus-zh-en', 'resemblyzer-ge2e']) {
    const e = await VoiceEmbedder.create({ model: id });
    const ref = await e.embed(await decodeAudio('demo-output/media/reference-voice.wav'));
    const ad = await decodeAudio('demo-output/media/ad.mp4');
    const segs = await detectSpeech(ad);
    const rows: string[] = [];
    for (const s of segs) {
      const x = ad.samples.subarray(Math.round(s.start * 16000), Math.round(s.end * 16000));
      if (x.length < 8000) continue;
      const v = await e.embedSamples(x);
      rows.push(`${s.start.toFixed(1)}-${s.end.toFixed(1)}:${v.reduce((t, a, i) => t + a * ref.embedding![i]!, 0).toFixed(3)}`);
    }
    console.log(id, rows.join(' '));
  }
}
void main();
