import { LikenessError } from '../errors';
import { probeMedia } from './ffmpeg';
import { readHead, sniffImageFormat } from './image';

/** What a media input holds, decided from its content (magic bytes, then ffprobe), never from its name. */
export type MediaKind = 'image' | 'audio' | 'video';

/** Codecs ffprobe reports for still images inside a "video" stream (cover art, single frames). */
const STILL_CODECS = new Set(['mjpeg', 'png', 'bmp', 'gif', 'webp', 'tiff']);

/**
 * The kind of a media file from its content. Images are recognised by magic bytes (no subprocess); anything else is
 * asked of ffprobe: a real video stream makes it video, else an audio stream makes it audio.
 * @throws LikenessError E_DECODE (empty / unreadable), E_UNSUPPORTED (no audio or video), E_FFMPEG.
 */
export async function detectMediaKind(file: string): Promise<MediaKind> {
  const h = readHead(file);
  if (h.length === 0) throw new LikenessError('E_DECODE', `${file} is empty (0 bytes)`, { file });
  if (sniffImageFormat(h)) return 'image';
  const info = await probeMedia(file);
  const video = info.streams.find((s) => s.type === 'video' && !STILL_CODECS.has(s.codec));
  if (video) return 'video';
  if (info.streams.some((s) => s.type === 'audio')) return 'audio';
  throw new LikenessError('E_UNSUPPORTED', `${file} holds no audio or video we can scan`, { file });
}
