import type { Decision, MatchOrigin, MatchSegment, ScanMatch, ScanVerdict } from '../report/schema';

/** Decision rank, higher is stronger. */
export function decisionRank(d: Decision): number {
  return d === 'match' ? 2 : d === 'possible' ? 1 : 0;
}

/**
 * Sorts segments and joins those that overlap or are closer than `tolerance` seconds (two tracks of one performer
 * on either side of a missed frame are one appearance). The box and origin of the earlier segment are kept. Segments
 * of different origins (another kind, or another reference) are never joined: each keeps the evidence of its origin.
 */
export function mergeSegments(segs: readonly MatchSegment[], tolerance = 0): MatchSegment[] {
  const sorted = [...segs].sort((a, b) => a.start - b.start || a.end - b.end);
  const out: MatchSegment[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end + tolerance && sameOrigin(last.origin, s.origin) && continuesReuse(last, s)) {
      last.end = Math.max(last.end, s.end);
      if (last.origin?.kind === 'reference-reuse' && s.origin?.kind === 'reference-reuse') {
        last.origin = { ...last.origin, similarity: Math.max(last.origin.similarity, s.origin.similarity) };
      }
    } else out.push({ ...s });
  }
  return out;
}

/** Whether two segments' origins say the same thing (both absent, the same kind, and for reuse the same reference). */
function sameOrigin(a: MatchOrigin | undefined, b: MatchOrigin | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'reference-reuse' || b.kind !== 'reference-reuse') return true;
  return a.referenceId === b.referenceId && a.performerId === b.performerId;
}

/**
 * Whether segment `b` continues the reuse of segment `a`: the same reference, and for a reference with a time axis
 * (video, recording) an offset that advanced with the media (within 1 s), not another part of the reference.
 * Photos have offset 0 throughout.
 */
function continuesReuse(a: MatchSegment, b: MatchSegment): boolean {
  const x = a.origin;
  const y = b.origin;
  if (x?.kind !== 'reference-reuse' || y?.kind !== 'reference-reuse') return true;
  if (x.referenceOffset === 0 && y.referenceOffset === 0) return true;
  return Math.abs(y.referenceOffset - x.referenceOffset - (b.start - a.start)) <= 1;
}

/** Strength of an origin finding: reuse (the proof is at hand) over new media over unknown. */
function originRank(o: MatchOrigin): number {
  return o.kind === 'reference-reuse' ? 2 : o.kind === 'new-media' ? 1 : 0;
}

/**
 * The strongest origin among segments' (a reuse of the highest similarity, else `new-media`, else `unknown`); undefined
 * when no segment has one (fingerprints were not looked up).
 */
export function strongestOrigin(segs: readonly MatchSegment[]): MatchOrigin | undefined {
  let best: MatchOrigin | undefined;
  for (const s of segs) {
    const o = s.origin;
    if (!o) continue;
    if (!best || originRank(o) > originRank(best)) best = o;
    else if (o.kind === 'reference-reuse' && best.kind === 'reference-reuse' && o.similarity > best.similarity) best = o;
  }
  return best;
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
