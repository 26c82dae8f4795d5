import { LikenessError } from '../errors';
import { probeMedia, type MediaInfo, type MediaStreamInfo, type RunOptions } from './ffmpeg';
import { statRegularFile } from './gate';
import { readHead, readImageHeader, sniffImageFormat, type ImageHeader } from './image';
import { limitFlag, resolveLimits, type MediaLimits } from './limits';
import { fileSource, readWavInfo, type WavInfo } from './wav';

/** What a media input holds, decided from its content (magic bytes, then ffprobe), never from its name. */
export type MediaKind = 'image' | 'audio' | 'video';

/** Codecs ffprobe reports for still images inside a "video" stream (cover art, single frames). */
const STILL_CODECS = new Set(['mjpeg', 'png', 'bmp', 'gif', 'webp', 'tiff']);

/** Everything the one probe of an input learned; decoders take it instead of probing again. */
export interface ProbedMedia {
  kind: MediaKind;
  /** File size in bytes. */
  bytes: number;
  /** Image header (images only). */
  image?: ImageHeader;
  /** Container and streams (audio and video; for a plain WAV, built from its header without ffprobe). */
  info?: MediaInfo;
  /** Video streams that can be scanned (real video, not cover art), in container order. */
  videoStreams: MediaStreamInfo[];
  /** Audio streams, in container order. */
  audioStreams: MediaStreamInfo[];
  /** Streams left out, each with the reason (over a limit, no size in the header) and the limit it broke. */
  skipped: { stream: MediaStreamInfo; reason: string; limit?: keyof MediaLimits }[];
}

/** Options of {@link probeInput}. */
export interface ProbeInputOptions extends Pick<RunOptions, 'signal' | 'timeoutMs'> {
  limits?: Partial<MediaLimits>;
  /** Name used in messages (default: the path). */
  label?: string;
}

/** A WAV header as the MediaInfo ffprobe would give (so plain WAV files need no ffprobe process). */
function wavInfo(w: WavInfo): MediaInfo {
  const duration = w.frames / w.sampleRate;
  return {
    format: 'wav',
    duration,
    streams: [{ index: 0, type: 'audio', codec: `wav_${w.formatCode}_${w.bitsPerSample}`, sampleRate: w.sampleRate, channels: w.channels, duration }],
  };
}

function plainWav(file: string, label: string): WavInfo | undefined {
  const src = fileSource(file);
  try {
    return readWavInfo(src, label);
  } finally {
    src.close();
  }
}

/**
 * Probes an input once: the input gate (regular file, size limit), magic bytes, then either the image header
 * (no subprocess), a plain WAV header (no subprocess) or one ffprobe run. Checks header limits per stream: a video
 * stream whose frames are over `maxFrameBytes`, or an audio stream over `maxChannels` / `maxSampleRate`, is left
 * out (listed in `skipped`); when no stream is left the input is E_TOO_LARGE.
 * @throws LikenessError E_NOT_FOUND, E_INPUT, E_DECODE (empty / unreadable), E_UNSUPPORTED (no audio or video),
 *   E_TOO_LARGE, E_FFMPEG, E_TIMEOUT, E_ABORTED.
 */
export async function probeInput(file: string, opts: ProbeInputOptions = {}): Promise<ProbedMedia> {
  const limits = resolveLimits(opts.limits);
  const label = opts.label ?? file;
  const st = statRegularFile(file, limits);
  if (st.size === 0) throw new LikenessError('E_DECODE', `${label} is empty (0 bytes)`, { file: label });
  const head = readHead(file);
  if (sniffImageFormat(head)) {
    const image = await readImageHeader(file, { maxPixels: limits.maxPixels });
    return { kind: 'image', bytes: st.size, image, videoStreams: [], audioStreams: [], skipped: [] };
  }
  const wav = plainWav(file, label);
  const info = wav && !wav.truncated ? wavInfo(wav) : await probeMedia(file, { signal: opts.signal, timeoutMs: opts.timeoutMs, label });
  return classify(info, st.size, label, limits);
}

function classify(info: MediaInfo, bytes: number, label: string, limits: MediaLimits): ProbedMedia {
  const skipped: ProbedMedia['skipped'] = [];
  const videoStreams: MediaStreamInfo[] = [];
  const audioStreams: MediaStreamInfo[] = [];
  for (const s of info.streams) {
    if (s.type === 'video') {
      if (STILL_CODECS.has(s.codec)) continue;
      if (!s.width || !s.height) skipped.push({ stream: s, reason: `video stream ${s.index} has no frame size in its header` });
      else if (s.width * s.height * 3 > limits.maxFrameBytes) {
        skipped.push({ stream: s, limit: 'maxFrameBytes', reason: `video stream ${s.index}: frames of ${s.width}x${s.height} (${s.width * s.height * 3} bytes as RGB) are over maxFrameBytes ${limits.maxFrameBytes}` });
      } else videoStreams.push(s);
    } else if ((s.channels ?? 1) > limits.maxChannels) {
      skipped.push({ stream: s, limit: 'maxChannels', reason: `audio stream ${s.index}: ${s.channels} channels are over maxChannels ${limits.maxChannels}` });
    } else if ((s.sampleRate ?? 0) > limits.maxSampleRate) {
      skipped.push({ stream: s, limit: 'maxSampleRate', reason: `audio stream ${s.index}: ${s.sampleRate} Hz is over maxSampleRate ${limits.maxSampleRate}` });
    } else audioStreams.push(s);
  }
  const realVideo = info.streams.some((s) => s.type === 'video' && !STILL_CODECS.has(s.codec));
  const kind: MediaKind | undefined = realVideo ? 'video' : info.streams.some((s) => s.type === 'audio') ? 'audio' : undefined;
  if (!kind) throw new LikenessError('E_UNSUPPORTED', `${label} holds no audio or video we can scan`, { file: label });
  if (videoStreams.length === 0 && audioStreams.length === 0) {
    const first = skipped[0]!;
    if (first.limit) throw new LikenessError('E_TOO_LARGE', `${label}: ${first.reason}; raise ${first.limit} (${limitFlag(first.limit)}) to accept it`, { file: label, limit: first.limit });
    throw new LikenessError('E_DECODE', `${label}: ${first.reason}`, { file: label });
  }
  return { kind, bytes, info, videoStreams, audioStreams, skipped };
}

/**
 * The kind of a media file from its content. Images are recognised by magic bytes (no subprocess); anything else is
 * asked of ffprobe: a real video stream makes it video, else an audio stream makes it audio.
 * @throws LikenessError E_DECODE (empty / unreadable), E_UNSUPPORTED (no audio or video), E_FFMPEG.
 */
export async function detectMediaKind(file: string, opts: ProbeInputOptions = {}): Promise<MediaKind> {
  return (await probeInput(file, opts)).kind;
}
