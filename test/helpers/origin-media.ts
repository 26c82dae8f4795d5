import { execFile } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { OTHERS, PERFORMER, samplePhotosDir, type SourceFace } from '../../examples/media';
import { decodeAudio } from '../../src/media/audio';
import { ffmpegPath } from '../../src/media/ffmpeg';
import { makeSpeechWav, type SpeechOptions } from './media';
import { composeVideo, cutFace } from './scan-media';

// Media for the reference-reuse tests (issue 16): references of a performer (photo, video clip, recording) made from
// the MIT face-api sample photos and espeak-ng voices, and ads that reuse part of one reference after a transform,
// starting at a known time. ffmpeg and sharp only (argument arrays, no shell).

// Media of the origin benchmark and index tests (espeak-ng texts and a music bed):
/** Paragraphs read by espeak-ng (en-us, 125 wpm) into reference recordings of 33 s or more. */
export const REFERENCE_TEXTS = [
  'The quick brown fox jumps over the lazy dog. Yesterday I went to the market and bought some apples, bread and cheese for the weekend. My neighbour told me that the weather would be lovely, so we planned a picnic by the river. The children wanted to bring their kites, and grandmother promised to bake a cake. In the afternoon the clouds rolled in and it began to rain, so we ran back home laughing. After dinner we played cards until midnight, and the dog slept by the fire. In the morning the garden smelled of wet grass and everybody wanted pancakes.',
  'Please remember to switch off the lights before you leave the office. The quarterly report is due next Tuesday and the figures still need checking. Our new colleague from the design team will present the prototype on Friday morning. Coffee and biscuits will be served in the main hall after the meeting. Parking on the north side is closed for repairs until the end of the month, so please use the visitor car park behind the library. Thank you all for your patience while the lifts are being replaced.',
  'Once upon a time a young sailor set out across the northern sea in search of a lighthouse that no map could show. He traded stories for bread in every harbour, and each story grew a little longer than the last. When winter came the waves rose higher than the masts, yet he kept the lantern burning and sang the songs his mother taught him, until one night a faint light answered from the rocks. He rowed towards it until dawn, and there on the cliff stood an old woman holding a lamp.',
  'Welcome aboard flight two hundred and twelve to Lisbon. Please make sure your seat belt is fastened and your tray table is stowed. The flight time today will be two hours and forty minutes, and we expect a smooth journey with clear skies over the coast. Snacks and drinks will be offered shortly after take off. If you need anything at all, press the call button above your seat and a member of the crew will be happy to help.',
  'To plant a tomato seedling, dig a hole twice as deep as the pot and loosen the soil at the bottom. Set the plant in so that the lowest leaves sit just above the ground, then fill the hole and press the earth down gently. Water it well in the evening, and tie the stem to a cane once it grows taller than your hand. Pinch out the side shoots every week, and feed the plant when the first flowers appear.',
];
/** Other sentences of the same voice: new speech, never reuse. */
export const OTHER_SENTENCES = [
  'I would like a cup of tea with milk and no sugar, please, and a slice of that lemon cake.',
  'The train to the city leaves from platform four at half past nine every morning except Sunday.',
  'Our new colleague will present the prototype on Friday.',
];

/** Background "music": a chord progression from ffmpeg's aevalsrc (a lavfi input, 40 s). */
export const MUSIC_SOURCE = "aevalsrc='0.3*sin(2*PI*220*t*(1+floor(mod(t,4))/4))+0.2*sin(2*PI*330*t)+0.1*sin(2*PI*(440+110*floor(mod(t*2,3)))*t)':s=22050:d=40";

/**
 * Five different people of the sample photos (the demo's performer and four others), each with room in the source
 * photo for at least half a face width of context on every side: a reference photo cut tighter than that would hold
 * the same pixels as the performer's reference clip (cut from the same source), and the two references could not be
 * told apart.
 */
export const GRID_FACES: readonly SourceFace[] = [PERFORMER, OTHERS.g, OTHERS.b, OTHERS.c, OTHERS.h];

/** Five espeak-ng voices far apart (two of them the demo's), one per grid performer. */
export const GRID_VOICES: readonly Required<SpeechOptions>[] = [
  { voice: 'en+f3', pitch: 55, speed: 150 },
  { voice: 'en-us+m3', pitch: 35, speed: 165 },
  { voice: 'en+m7', pitch: 25, speed: 155 },
  { voice: 'en+f4', pitch: 70, speed: 140 },
  { voice: 'en-gb-scotland+m2', pitch: 45, speed: 170 },
];

/** Reference recording texts of the grid (one per performer): 15-20 s of espeak speech each in {@link GRID_VOICES}. */
export const RECORDING_TEXTS: readonly string[] = [
  'My name is on this recording because I agree to have my voice protected. The morning train was late again, so everyone waited on the cold platform and talked about the weather, the football and the price of bread. Nobody complained at all.',
  'I am reading this statement for the record. She opened the old wooden box in the attic and found a stack of letters tied with string, each one addressed to a house that no longer stands. She read them all before the sun went down, and then she read them again by candlelight.',
  'This is my reference recording. Our team finished the bridge project two days before the deadline, and the mayor came down to the river to cut the ribbon in the pouring rain. Nobody minded getting wet, and the band played until very late in the evening under the bridge.',
  'Please keep this recording of my voice on file. The garden behind the library is full of roses in June, and the children from the school next door come to draw the bees and the butterflies. I go there on Sundays with a book.',
  'I consent to this recording being kept. The lighthouse keeper climbed the stairs every evening at dusk, wound the clockwork, lit the lamp and wrote one line about the sea in his notebook. After forty years the notebooks filled a whole shelf of the tower, and the sea had not changed at all.',
];

/** Another sentence per voice, never in its reference: new media of the same voice. */
export const OTHER_TEXTS: readonly string[] = [
  'Yesterday I baked two loaves of sourdough and gave one to the neighbours across the street.',
  'The museum will open a new wing for ancient maps and navigation instruments next autumn.',
  'A flock of geese flew low over the frozen lake while the skaters stopped to watch them.',
  'Remember to pack a warm jacket, a flashlight and enough water for the long hike tomorrow.',
  'Every Saturday the market square fills with stalls selling cheese, honey and fresh flowers.',
];

/** sha256 of a file's bytes (a reference's id). */
export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const execFileP = promisify(execFile);

/** Runs ffmpeg (errors only, overwrite); async, so that a test can compose two ads at once on two cores. */
async function ffmpeg(args: string[]): Promise<void> {
  await execFileP(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { timeout: 300_000 });
}

/** Seconds of a media file (ffmpeg decodes it). */
export async function audioSeconds(file: string): Promise<number> {
  const s = await decodeAudio(file);
  return s.samples.length / s.sampleRate;
}

/**
 * A reference photo of `face`: the face in the middle with the scene around it (0.9 face widths on each side, so
 * neighbours may show at the edges: enroll with `largest`; less near the source photo's border, so that the face
 * stays in the middle and the largest), 320 px square, JPEG.
 */
export async function referencePhoto(face: SourceFace, dst: string, margin = 0.9): Promise<string> {
  const png = `${dst}.png`;
  await cutFace(path.join(samplePhotosDir(), face.photo), face.box, margin, 320, png, { centred: true });
  await ffmpeg(['-i', png, '-q:v', '2', dst]);
  fs.rmSync(png);
  return dst;
}

/** Frame of the reference clips and of the visual ads. */
export const CLIP_W = 640;
export const CLIP_H = 360;
export const CLIP_FPS = 25;

/**
 * Background of the reference clips: large grey-level gradients turning about 0.4 rad a second, so that the
 * surroundings of the face differ from one moment to the next at the coarse scale a perceptual hash sees (the bars
 * of `testsrc2` stay put behind a face that moves sideways, and the moments of such a clip hash alike).
 */
export const CLIP_BACKGROUND = 'gradients=n=4:c0=0x101010:c1=0xf0f0f0:c2=0x505050:c3=0xc0c0c0:speed=0.016:seed=16';

/**
 * A reference video clip of `face`: `seconds` of a moving background ({@link CLIP_BACKGROUND}) with the face,
 * framed tighter than the photo, drifting over it. No soundtrack.
 */
export async function referenceClip(face: SourceFace, dst: string, seconds = 12): Promise<string> {
  const png = `${dst}.face.png`;
  await cutFace(path.join(samplePhotosDir(), face.photo), face.box, 0.25, 170, png);
  composeVideo(dst, [{ image: png, start: 0, end: seconds, x: '235+90*sin(0.6*t)', y: '95+50*sin(0.9*t)' }], {
    width: CLIP_W,
    height: CLIP_H,
    seconds,
    fps: CLIP_FPS,
    background: CLIP_BACKGROUND,
    codecArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-an'],
  });
  fs.rmSync(png);
  return dst;
}

/** A reference recording: `text` in `voice` (espeak-ng), as WAV. */
export function referenceRecording(voice: SpeechOptions, text: string, dst: string): string {
  return makeSpeechWav(text, dst, voice);
}

/** Visual transforms of the grid. */
export type VisualTransform = 'h264-300k' | 'scale-50' | 'crop-10' | 'mirror' | 'bright+30' | 'bright-30';
/** Audio transforms of the grid. */
export type AudioTransform = 'aac-48k' | 'tempo-0.95' | 'tempo-1.05' | 'music-10db';

export const VISUAL_TRANSFORMS: readonly VisualTransform[] = ['h264-300k', 'scale-50', 'crop-10', 'mirror', 'bright+30', 'bright-30'];
export const AUDIO_TRANSFORMS: readonly AudioTransform[] = ['aac-48k', 'tempo-0.95', 'tempo-1.05', 'music-10db'];

/**
 * The ffmpeg filter of a visual transform. `fill`: after a crop, scale back to the input size (a video re-framed to
 * its own frame); else the cropped picture stays smaller. Brightness is multiplicative (RGB x 1.3 / x 0.7, clipped).
 */
function visualFilter(t: VisualTransform, fill: boolean): string {
  switch (t) {
    case 'h264-300k':
      return 'null';
    case 'scale-50':
      return 'scale=trunc(iw/4)*2:trunc(ih/4)*2';
    case 'crop-10':
      return `crop=trunc(iw*0.45)*2:trunc(ih*0.45)*2${fill ? `,scale=${CLIP_W}:${CLIP_H}` : ''}`;
    case 'mirror':
      return 'hflip';
    case 'bright+30':
      return 'format=rgb24,colorchannelmixer=rr=1.3:gg=1.3:bb=1.3';
    case 'bright-30':
      return 'format=rgb24,colorchannelmixer=rr=0.7:gg=0.7:bb=0.7';
  }
}

/** Where the reused part is in an ad, and what part of the reference it is. */
export interface ReuseTruth {
  /** Ad seconds where the reused part starts and ends. */
  adStart: number;
  adEnd: number;
  /** Reference seconds at `adStart` (0 for a photo). */
  refStart: number;
  /** Reference seconds per ad second (1, or the tempo factor). */
  rate: number;
}

/**
 * An ad (640x360 H.264 MP4, no sound) of `lead` s of black, then the reused picture for `seconds` s (a photo held
 * still, or the excerpt [from, from + seconds) of a reference clip) after transform `t`, centred, then 1 s of black.
 * `h264-300k` encodes the whole ad at 300 kb/s; the others at CRF 20.
 */
export async function visualAd(src: { photo: string } | { clip: string; from: number }, t: VisualTransform, lead: number, seconds: number, dst: string): Promise<ReuseTruth> {
  const args = ['-f', 'lavfi', '-i', `color=c=black:s=${CLIP_W}x${CLIP_H}:r=${CLIP_FPS}:d=${lead}`];
  if ('photo' in src) args.push('-loop', '1', '-framerate', String(CLIP_FPS), '-t', String(seconds), '-i', src.photo);
  else args.push('-ss', String(src.from), '-t', String(seconds), '-i', src.clip);
  args.push('-f', 'lavfi', '-i', `color=c=black:s=${CLIP_W}x${CLIP_H}:r=${CLIP_FPS}:d=1`);
  const fit = `scale=w='min(iw,${CLIP_W})':h='min(ih,${CLIP_H})':force_original_aspect_ratio=decrease,pad=${CLIP_W}:${CLIP_H}:(ow-iw)/2:(oh-ih)/2:color=black`;
  const filter = `[1:v]${visualFilter(t, !('photo' in src))},${fit},format=yuv420p,setsar=1,fps=${CLIP_FPS}[r];[0:v]format=yuv420p,setsar=1[a];[2:v]format=yuv420p,setsar=1[b];[a][r][b]concat=n=3:v=1:a=0[v]`;
  const codec = t === 'h264-300k' ? ['-b:v', '300k', '-maxrate', '300k', '-bufsize', '600k'] : ['-crf', '20'];
  await ffmpeg([...args, '-filter_complex', filter, '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', ...codec, '-pix_fmt', 'yuv420p', dst]);
  return { adStart: lead, adEnd: lead + seconds, refStart: 'photo' in src ? 0 : src.from, rate: 'photo' in src ? 0 : 1 };
}

/** RMS of a file's decoded audio over its samples above -40 dBFS (the speech, not its pauses). */
async function speechRms(file: string, from: number, seconds: number): Promise<number> {
  const s = await decodeAudio(file);
  const a = Math.round(from * s.sampleRate);
  const x = s.samples.subarray(a, a + Math.round(seconds * s.sampleRate));
  let sum = 0;
  let n = 0;
  for (const v of x) {
    if (Math.abs(v) < 0.01) continue;
    sum += v * v;
    n++;
  }
  return n > 0 ? Math.sqrt(sum / n) : 0;
}

/**
 * An audio ad: `lead` s of silence, then [from, from + seconds) of a reference recording after transform `t`, then
 * 1 s of silence. `aac-48k` is an AAC (M4A) file at 48 kb/s; the others are 16-bit WAV. `music-10db` mixes a synthetic
 * melody (three notes a second over a two-tone drone) over the whole ad, 10 dB below the speech's RMS.
 */
export async function audioAd(recording: string, from: number, seconds: number, t: AudioTransform, lead: number, dst: string): Promise<ReuseTruth> {
  const tempo = t === 'tempo-0.95' ? 0.95 : t === 'tempo-1.05' ? 1.05 : 1;
  const played = seconds / tempo;
  const total = lead + played + 1;
  const ms = Math.round(lead * 1000);
  const chain = [`[0:a]aresample=22050,aformat=channel_layouts=mono${tempo !== 1 ? `,atempo=${tempo}` : ''},adelay=${ms},apad=whole_dur=${total}[s]`];
  const args = ['-ss', String(from), '-t', String(seconds), '-i', recording];
  let out = '[s]';
  if (t === 'music-10db') {
    // Three sines of amplitude a each (uncorrelated): RMS a * sqrt(3 / 2).
    const target = (await speechRms(recording, from, seconds)) * 10 ** (-10 / 20);
    const a = (target / Math.sqrt(1.5)).toFixed(5);
    const melody = `${a}*(sin(2*PI*t*220*pow(2,mod(floor(t*3)*5,12)/12))+sin(2*PI*110*t)+sin(2*PI*165*t))`;
    args.push('-f', 'lavfi', '-i', `aevalsrc='${melody}':s=22050:d=${total}`);
    chain.push('[1:a]aformat=channel_layouts=mono[m]', '[s][m]amix=inputs=2:normalize=0:duration=first[mix]');
    out = '[mix]';
  }
  const codec = t === 'aac-48k' ? ['-c:a', 'aac', '-b:a', '48k'] : ['-c:a', 'pcm_s16le'];
  await ffmpeg([...args, '-filter_complex', chain.join(';'), '-map', out, '-t', String(total), ...codec, dst]);
  return { adStart: lead, adEnd: lead + played, refStart: from, rate: tempo };
}
