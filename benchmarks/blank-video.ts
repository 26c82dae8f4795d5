import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guard } from '../src/guard';
import { ffmpegPath } from '../src/media/ffmpeg';
import { planVideoFrames, videoDecodeArgs } from '../src/media/video';
import { isScanFailure } from '../src/report/schema';

// Issue #15: a generated one-hour 160x120 silent video scans in <= 1.2x the time ffmpeg alone takes to decode it at
// the sampling rate, in the same run. The scan is the shipped path (Guard.scan, accurate preset, a gallery with a face
// and a voice enrolled so both pipelines run), warm (models loaded by a scan of a short clip first). The floor is one
// ffmpeg process decoding the same streams the scan decodes: video at the sampling rate with the scanner's own
// arguments (videoDecodeArgs: its threads, -skip_frame noref, filter and pixel format) and the soundtrack at 16 kHz
// mono (the same soxr resampler), written to /dev/null.
//
//   npm run bench:blank -- [--seconds 3600] [--json]

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

function ff(args: string[]): void {
  execFileSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Wall seconds of one ffmpeg run (best of `n`). */
function timeFfmpeg(args: string[], n = 2): number {
  let best = Infinity;
  for (let k = 0; k < n; k++) {
    const t0 = performance.now();
    const r = spawnSync(ffmpegPath(), ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`ffmpeg failed: ${args.join(' ')}`);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds', '3600'));
  const fps = 2;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-blank-'));
  process.env.LIKENESS_HOME = path.join(dir, 'home');
  process.env.LIKENESS_KEY ??= 'ab'.repeat(32);
  try {
    const withAudio = path.join(dir, 'blank-audio.mp4');
    const videoOnly = path.join(dir, 'blank.mp4');
    const t0 = performance.now();
    ff(['-f', 'lavfi', '-i', `color=c=black:s=160x120:r=25:d=${seconds}`, '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=stereo', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '32k', withAudio]);
    ff(['-i', withAudio, '-map', '0:v', '-c', 'copy', videoOnly]);
    const genS = (performance.now() - t0) / 1000;
    // A gallery with a face and a voice, so the scan runs faces and voices.
    const ref = path.join(dir, 'ref.jpg');
    const refVoice = path.join(dir, 'ref.wav');
    const sample = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
    ff(['-i', sample, '-vf', 'crop=560:560:1300:50', ref]);
    execFileSync('espeak-ng', ['-w', refVoice, 'A reference recording, long enough for an enrollment of this voice, read slowly and clearly.']);
    const guard = await Guard.open({ db: path.join(dir, 'store.db') });
    const e = await guard.enroll({ name: 'Reference', noConsent: true }, [ref, refVoice]);
    if (e.accepted.length < 2) throw new Error(`enrollment failed: ${JSON.stringify(e.rejected)}`);
    // Warm-up: load every model on a short clip.
    const warm = path.join(dir, 'warm.mp4');
    ff(['-i', withAudio, '-t', '5', '-c', 'copy', warm]);
    await guard.scan(warm);

    const plans = new Map([[videoOnly, await planVideoFrames(videoOnly)], [withAudio, await planVideoFrames(withAudio)]]);
    const floorArgs = (file: string, audio: boolean): string[] => [
      '-y', ...videoDecodeArgs(file, plans.get(file)!, { fps, mode: 'interval', output: '/dev/null' }),
      ...(audio ? ['-map', '0:a:0', '-ac', '1', '-ar', '16000', '-af', 'aresample=resampler=soxr', '-f', 'f32le', '-y', '/dev/null'] : []),
    ];
    const rows: Record<string, unknown>[] = [];
    for (const [name, file, audio] of [['video only', videoOnly, false], ['video + silent soundtrack', withAudio, true]] as const) {
      // Floor and scan alternate, best of three each: other load on the machine then hits both alike.
      let floor = Infinity, scanS = Infinity;
      let r: Awaited<ReturnType<typeof guard.scan>> | undefined;
      let cpu = { user: 0, system: 0 };
      for (let k = 0; k < 3; k++) {
        floor = Math.min(floor, timeFfmpeg(floorArgs(file, audio), 1));
        const s0 = performance.now();
        const cpu0 = process.cpuUsage();
        const got = await guard.scan(file, { fps });
        const s = (performance.now() - s0) / 1000;
        if (s < scanS) (scanS = s), (r = got), (cpu = process.cpuUsage(cpu0));
      }
      if (!r) throw new Error('no scan ran');
      if (isScanFailure(r)) throw new Error(`scan failed: ${r.error.code} ${r.error.message}`);
      rows.push({
        input: name,
        mediaSeconds: r.media.duration,
        ffmpegAloneS: +floor.toFixed(2),
        scanS: +scanS.toFixed(2),
        ratio: +(scanS / floor).toFixed(3),
        scanNodeCpuS: +((cpu.user + cpu.system) / 1e6).toFixed(2),
        sampledFrames: r.stats?.sampledFrames,
        framesUnchanged: r.stats?.framesUnchanged,
        speechSeconds: r.stats?.speechSeconds,
        rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
        timingsMs: r.timings,
      });
    }
    await guard.close();
    const p = plans.get(videoOnly)!;
    const out = { seconds, fps, generateS: +genS.toFixed(1), target: 'ratio <= 1.2', transport: p.transport, floorArgs: floorArgs(videoOnly, false).join(' '), load: os.loadavg().map((x) => +x.toFixed(2)), rows };
    if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
    else {
      console.log(`one ${seconds} s 160x120 blank video, sampled at ${fps} fps (generated in ${out.generateS} s)`);
      for (const r of rows) console.log(JSON.stringify(r));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
