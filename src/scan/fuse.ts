import type { Decision, MatchSegment, ScanMatch, ScanVerdict } from '../report/schema';

/** Decision rank, higher is stronger. */
export function decisionRank(d: Decision): number {
  return d === 'match' ? 2 : d === 'possible' ? 1 : 0;
}

/**
 * Sorts segments and joins those that overlap or are closer than `tolerance` seconds (two tracks of one performer
 * on either side of a missed frame are one appearance). The box of the earlier segment is kept.
 */
export function mergeSegments(segs: readonly MatchSegment[], tolerance = 0): MatchSegment[] {
  const sorted = [...segs].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: MatchSegment[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end + tolerance) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

/** Time spans where both lists of spans hold (each list may overlap itself; they are merged first). */
export function intersectSpans(a: readonly MatchSegment[], b: readonly MatchSegment[]): { start: number; end: number }[] {
  const x = mergeSegments(a);
  const y = mergeSegments(b);
  const out: { start: number; end: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const start = Math.max(x[i]!.start, y[j]!.start);
    const end = Math.min(x[i]!.end, y[j]!.end);
    if (end > start) out.push({ start, end });
    if (x[i]!.end < y[j]!.end) i++;
    else j++;
  }
  return out;
}

/**
 * Independent-evidence fusion ("noisy OR"): the probability that at least one of two independent calibrated
 * judgements of "same person" is right, 1 - (1 - a)(1 - b). It is used only where face and voice coincide in time:
 * a face and a voice-over elsewhere in the file are not two views of one appearance, so nothing is fused there.
 */
export function fuseConfidence(face: number, voice: number): number {
  return 1 - (1 - face) * (1 - voice);
}

/**
 * One verdict per matched performer. Where face and voice matches of the performer overlap in time the confidence
 * is fused ({@link fuseConfidence}) and the decision is `match` when either modality says `match` or both say
 * `possible` (two independent weak signals at the same moment); elsewhere it is the best single-modality match.
 */
export function verdicts(matches: readonly ScanMatch[]): ScanVerdict[] {
  const byPerformer = new Map<string, ScanMatch[]>();
  for (const m of matches) byPerformer.set(m.performerId, [...(byPerformer.get(m.performerId) ?? []), m]);
  const out: ScanVerdict[] = [];
  for (const [performerId, ms] of byPerformer) {
    const face = ms.find((m) => m.modality === 'face');
    const voice = ms.find((m) => m.modality === 'voice');
    const best = [...ms].sort((a, b) => decisionRank(b.decision) - decisionRank(a.decision) || b.confidence - a.confidence)[0]!;
    const overlaps = face && voice ? intersectSpans(face.segments, voice.segments) : [];
    const modalities = [face, voice].filter((m): m is ScanMatch => m !== undefined).map((m) => m.modality);
    if (face && voice && overlaps.length > 0) {
      const both = face.decision === 'match' || voice.decision === 'match' || (face.decision === 'possible' && voice.decision === 'possible');
      out.push({ performerId, name: best.name, modalities, confidence: fuseConfidence(face.confidence, voice.confidence), decision: both ? 'match' : 'possible', overlaps });
    } else {
      out.push({ performerId, name: best.name, modalities, confidence: best.confidence, decision: best.decision, overlaps: [] });
    }
  }
  return out.sort((a, b) => decisionRank(b.decision) - decisionRank(a.decision) || b.confidence - a.confidence);
}
