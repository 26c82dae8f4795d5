import { createHash } from 'crypto';
import { LikenessError } from '../errors';
import {
  isScanFailure,
  type Decision,
  type ReportConsent,
  type ReportPerformer,
  type ReportReferenceThumbnails,
  type ScanFailure,
  type ScanMatch,
  type ScanReportFile,
  type ScanResult,
  type ScanVerdict,
} from './schema';
import { invalid, options } from '../validate';
import { formatConfidence, modalityLabel } from './format';

// The HTML evidence page: one self-contained file (inline CSS, inline SVG, embedded JPEG crops) that a reviewer can
// open offline or attach to a takedown request. Everything that comes from media or the store (names, paths, ids,
// warnings, error messages) is escaped; only JPEG data URLs are embedded; a Content-Security-Policy meta forbids every
// network load and every script, so even a crafted report file cannot make the page fetch or run anything.

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** Page title; default `Likeness scan report`. */
  title?: string;
  /** When the report was made (shown as given); default now, as ISO 8601. */
  generatedAt?: string;
  /**
   * sha256 (hex) of the JSON file the page is rendered from, shown so a reader can check the page against it; default
   * the sha256 of `JSON.stringify(file, null, 2) + '\n'` without `referenceThumbnails`, which is exactly what
   * `likeness scan --json` writes.
   */
  jsonSha256?: string;
}

/** Largest face crop embedded (characters of the data URL); crops are ~160 px JPEGs, a few KB. */
const MAX_CROP_CHARS = 512 * 1024;
/** Crops shown per performer; the page stays readable for a performer seen in hundreds of files. */
const MAX_CROPS_PER_PERFORMER = 12;
/** Enrolled reference thumbnails shown per performer. */
const MAX_REFERENCE_THUMBNAILS = 4;
/** Voice clips embedded per page (the rest are listed without a player); a 10 s clip is ~54 KB as base64. */
const MAX_CLIPS_PER_PAGE = 20;
const MAX_CLIP_CHARS = 128 * 1024;
/** Base64 of an Ogg stream starts with T2dnUw (OggS). */
const OGG_DATA_URL = /^data:audio\/ogg;base64,(T2dnUw[A-Za-z0-9+/]*={0,2})$/;
const JPEG_DATA_URL = /^data:image\/jpeg;base64,(\/9j\/[A-Za-z0-9+/]*={0,2})$/;

const CSS = `
:root{--fg:#1d2228;--muted:#5b6470;--line:#d9dee4;--bg:#fff;--panel:#f6f8fa;--face:#2f6fde;--voice:#d9771e;--both:#7a3fc4;
--match:#b3261e;--possible:#9a6700;--ok:#1a7f37}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:0 0 6px;word-break:break-all}
.meta{color:var(--muted);margin:0 0 12px}
.summary{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.stat{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:120px}
.stat b{display:block;font-size:20px}
.card{border:1px solid var(--line);border-radius:8px;padding:14px;margin:12px 0;background:var(--bg)}
.crops{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.crops figure{margin:0;text-align:center;font-size:12px;color:var(--muted);max-width:132px}
.crops img{width:120px;height:120px;object-fit:cover;border-radius:4px;border:1px solid var(--line);display:block}
.crops figure.reference img{border:2px solid var(--face)}
.crops figure.reference.none{width:120px;height:120px;display:flex;align-items:center;justify-content:center;border:2px dashed var(--line);border-radius:4px}
.crops .sep{width:1px;background:var(--line);margin:0 4px}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.decision{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff}
.decision-match{background:var(--match)}.decision-possible{background:var(--possible)}.decision-none{background:var(--muted)}
.modality-face{color:var(--face);font-weight:600}.modality-voice{color:var(--voice);font-weight:600}
.warnings{background:#fff8e1;border:1px solid #f0d58c;border-radius:6px;padding:6px 10px 6px 26px;margin:8px 0}
.error{color:var(--match);font-weight:600}
svg.timeline{width:100%;height:auto;display:block;margin:6px 0;background:var(--panel);border-radius:4px}
svg.timeline text{font-size:11px;fill:var(--fg)}
svg.timeline .axis{fill:var(--muted)}
svg.timeline .grid{stroke:var(--line)}
svg.timeline .bar-face{fill:var(--face)}svg.timeline .bar-voice{fill:var(--voice)}svg.timeline .bar-both{fill:var(--both)}
svg.timeline .possible{fill-opacity:.45}
.legend{font-size:12px;color:var(--muted)}
.legend span{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:middle}
.legend .l-face{background:var(--face)}.legend .l-voice{background:var(--voice)}.legend .l-both{background:var(--both)}
details summary{cursor:pointer;color:var(--muted)}
.empty{color:var(--muted);font-style:italic}
.rule{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:8px 0;font-size:13px}
.rule ul{margin:4px 0 0;padding-left:20px}
.clips{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}.clips figure{margin:0;font-size:12px;color:var(--muted)}
.clips audio{display:block;width:260px;height:32px}
@page{size:A4;margin:14mm 12mm}
@media print{
body{font-size:11px}main{max-width:none;padding:0}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
h2{break-after:avoid}.card,figure,tr,svg.timeline,.rule{break-inside:avoid}
details>*:not(summary){display:block}details summary{display:none}
.clips audio{display:none}
.crops img{width:90px;height:90px}
code,.mono{font-size:10px}
}
`;

/**
 * Renders a scan report (the `{schemaVersion, results}` file of `likeness scan --json`) as one self-contained HTML
 * evidence page: per matched performer the face crops and the media they were found in; per media a timeline of
 * where face and voice matched, with scores, calibrated confidences, decisions, model ids, the media hash and the
 * scan time; warnings; and the inputs that could not be scanned with their error codes.
 *
 * The page needs no network and no script: styles are inline (allowed by hash in its Content-Security-Policy), only
 * `data:image/jpeg;base64,` crops are embedded (any other evidence URL is dropped) and all text is HTML-escaped.
 *
 * @throws LikenessError `E_INPUT` when `file` is not a report object with a `results` array.
 * @example
 * fs.writeFileSync('report.html', renderHtmlReport({ schemaVersion: 1, results }, { title: 'Ad review' }));
 */
export function renderHtmlReport(file: ScanReportFile, opts: HtmlReportOptions = {}): string {
  if (typeof file !== 'object' || file === null || !Array.isArray(file.results)) {
    throw invalid('report must be an object {schemaVersion, results: [...]} as written by `likeness scan --json`');
  }
  options('report options', opts);
  if (opts.title !== undefined && typeof opts.title !== 'string') throw invalid('title must be a string');
  if (opts.generatedAt !== undefined && (typeof opts.generatedAt !== 'string' || Number.isNaN(Date.parse(opts.generatedAt)))) throw invalid('generatedAt must be an ISO-8601 time');
  const title = typeof opts.title === 'string' && opts.title.trim() ? opts.title : 'Likeness scan report';
  const generatedAt = typeof opts.generatedAt === 'string' ? opts.generatedAt : new Date().toISOString();
  if (opts.jsonSha256 !== undefined && (typeof opts.jsonSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(opts.jsonSha256))) throw invalid('jsonSha256 must be 64 lowercase hex digits');
  // The thumbnails come from the store for the page only (never in the JSON written): the hash is of the JSON without them.
  const { referenceThumbnails: _thumbnails, ...json } = file;
  const jsonSha256 = opts.jsonSha256 ?? createHash('sha256').update(JSON.stringify(json, null, 2) + '\n', 'utf8').digest('hex');
  const entries = file.results.filter((r): r is ScanResult | ScanFailure => typeof r === 'object' && r !== null && typeof r.media === 'object' && r.media !== null);
  const failures = entries.filter(isScanFailure);
  const scanned = entries.filter((r): r is ScanResult => !isScanFailure(r));
  const performers = groupByPerformer(scanned);
  const thumbnails = referenceThumbnails(file.referenceThumbnails);
  const clips = new ClipBudget();
  const body = [
    header(title, generatedAt, file.schemaVersion, scanned, failures, performers.length),
    provenanceSection(file, jsonSha256),
    performersSection(performers, clips, thumbnails),
    mediaSection(scanned),
    failuresSection(failures),
  ].join('\n');
  const styleHash = createHash('sha256').update(CSS, 'utf8').digest('base64');
  // No `default-src` exception at all: images only from data: URLs, styles only this exact stylesheet, no scripts,
  // no forms, no base URL. `frame-ancestors` is not allowed in a meta tag (Chromium logs an error), so it is absent.
  const csp = `default-src 'none'; img-src data:; media-src data:; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** HTML-escapes any value as text (also safe inside double- or single-quoted attributes). */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = escapeHtml;

/** Bidi and other control characters (U+202E and friends reorder text; C0/C1 controls are invisible). */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text with its control characters shown as `\uXXXX`, then HTML-escaped: for attributes and SVG text. */
function visible(v: unknown): string {
  return esc(String(v ?? '').replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * A user-given string (a performer name, a file name) as HTML content: isolated in `<bdi>` so bidi controls in it
 * cannot reorder the text around it, with its control characters shown visibly.
 */
function isolate(v: unknown): string {
  return `<bdi>${visible(v)}</bdi>`;
}

/** The crop as a JPEG data URL, or null for anything else (other types, other schemes, oversized, malformed). */
export function safeJpegDataUrl(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > MAX_CROP_CHARS) return null;
  const m = JPEG_DATA_URL.exec(v);
  // Base64 of a JPEG starts with /9j/ (FF D8 FF) and has a length that is a multiple of 4.
  return m && m[1]!.length % 4 === 0 ? v : null;
}

/** The clip as an Ogg data URL, or null for anything else (other types, other schemes, oversized, malformed). */
export function safeOggDataUrl(v: unknown): string | null {
  if (typeof v !== 'string' || v.length > MAX_CLIP_CHARS) return null;
  const m = OGG_DATA_URL.exec(v);
  return m && m[1]!.length % 4 === 0 ? v : null;
}

/** Counts the audio players put on one page. */
class ClipBudget {
  used = 0;
  take(): boolean {
    if (this.used >= MAX_CLIPS_PER_PAGE) return false;
    this.used++;
    return true;
  }
}

/** One performer's matches across all scanned media. */
interface PerformerGroup {
  performerId: string;
  name: string;
  best: ScanMatch;
  fusedBest?: ScanVerdict;
  items: { result: ScanResult; match: ScanMatch }[];
  consent?: ReportConsent;
}

const DECISION_RANK: Record<Decision, number> = { match: 2, possible: 1, none: 0 };

function rank(d: unknown): number {
  return typeof d === 'string' && d in DECISION_RANK ? DECISION_RANK[d as Decision] : 0;
}

function better(a: { decision: unknown; confidence: unknown }, b: { decision: unknown; confidence: unknown }): boolean {
  const r = rank(a.decision) - rank(b.decision);
  return r !== 0 ? r > 0 : finite(a.confidence, -1) > finite(b.confidence, -1);
}

function groupByPerformer(results: ScanResult[]): PerformerGroup[] {
  const groups = new Map<string, PerformerGroup>();
  for (const result of results) {
    for (const match of arr<ScanMatch>(result.matches)) {
      const key = String(match.performerId);
      const g = groups.get(key);
      if (!g) groups.set(key, { performerId: key, name: String(match.name ?? ''), best: match, items: [{ result, match }] });
      else {
        g.items.push({ result, match });
        if (better(match, g.best)) g.best = match;
      }
    }
    for (const p of arr<ReportPerformer>(result.performers)) {
      const g = groups.get(String(p?.performerId));
      if (g && p.consent && typeof p.consent === 'object') g.consent = p.consent;
    }
    for (const v of arr<ScanVerdict>(result.verdicts)) {
      const g = groups.get(String(v.performerId));
      if (g && (!g.fusedBest || better(v, g.fusedBest))) g.fusedBest = v;
    }
  }
  return [...groups.values()].sort((a, b) => (better(a.fusedBest ?? a.best, b.fusedBest ?? b.best) ? -1 : 1));
}

function header(title: string, generatedAt: string, schemaVersion: unknown, scanned: ScanResult[], failures: ScanFailure[], performers: number): string {
  const withMatch = scanned.filter((r) => arr(r.matches).some((m) => (m as ScanMatch).decision === 'match')).length;
  const models = [...new Set(scanned.flatMap((r) => arr<ScanMatch>(r.matches).map((m) => String(m.modelId))))].sort();
  const stat = (n: number, label: string): string => `<div class="stat"><b>${n}</b>${esc(label)}</div>`;
  return `<header>
<h1>${esc(title)}</h1>
<p class="meta">Generated ${esc(generatedAt)} · schema version ${esc(schemaVersion)}${models.length ? ` · models ${models.map((m) => `<code>${esc(m)}</code>`).join(', ')}` : ''}</p>
<div class="summary">
${stat(scanned.length + failures.length, 'inputs')}
${stat(scanned.length, 'scanned')}
${stat(withMatch, 'with a match')}
${stat(performers, 'performers found')}
${stat(failures.length, 'failed')}
</div>
</header>`;
}

/** Tool, models and their sha256, and the sha256 of the JSON the page was rendered from. */
function provenanceSection(file: ScanReportFile, jsonSha256: string): string {
  const tool = typeof file.tool === 'object' && file.tool !== null ? `${esc(file.tool.name)} ${esc(file.tool.version)}` : '<span class="empty">not recorded</span>';
  const models = arr<{ id: unknown; sha256: unknown }>(file.models);
  const rows = models.map((m) => `<tr><td><code>${esc(m.id)}</code></td><td class="mono">${m.sha256 ? esc(m.sha256) : '<span class="empty">no weights file</span>'}</td></tr>`).join('\n');
  return `<section id="provenance"><h2>Provenance</h2>
<p class="meta">Tool ${tool} · report JSON sha256 <code class="json-sha256">${esc(jsonSha256)}</code></p>
${models.length ? `<table><thead><tr><th>model</th><th>sha256</th></tr></thead><tbody>\n${rows}\n</tbody></table>` : ''}
</section>`;
}

/** The embeddable reference thumbnails per performer id (anything but a JPEG data URL is dropped). */
function referenceThumbnails(v: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of arr<ReportReferenceThumbnails>(v)) {
    if (typeof p !== 'object' || p === null) continue;
    const urls = arr<{ thumbnail: unknown }>(p.thumbnails)
      .map((t) => safeJpegDataUrl(typeof t === 'object' && t !== null ? t.thumbnail : null))
      .filter((u): u is string => u !== null);
    out.set(String(p.performerId), [...(out.get(String(p.performerId)) ?? []), ...urls].slice(0, MAX_REFERENCE_THUMBNAILS));
  }
  return out;
}

function performersSection(groups: PerformerGroup[], clips: ClipBudget, thumbnails: Map<string, string[]>): string {
  if (groups.length === 0) return `<section id="performers"><h2>Performers found</h2><p class="empty">No enrolled performer was found in the scanned media.</p></section>`;
  return `<section id="performers"><h2>Performers found</h2>\n${groups.map((g) => performerCard(g, clips, thumbnails.get(g.performerId) ?? [])).join('\n')}\n</section>`;
}

/** The enrolled reference thumbnails shown first in the row of matched crops, or "no thumbnail" (older enrollments). */
function referenceFigures(g: PerformerGroup, urls: string[]): string {
  if (urls.length === 0) return `<figure class="reference none"><figcaption>enrolled reference: <span class="empty">no thumbnail</span></figcaption></figure>`;
  return urls
    .map((u, i) => `<figure class="reference"><img src="${esc(u)}" alt="${visible(`enrolled reference ${i + 1} of ${g.name}`)}"><figcaption>enrolled reference${urls.length > 1 ? ` ${i + 1}` : ''}</figcaption></figure>`)
    .join('');
}

function performerCard(g: PerformerGroup, clips: ClipBudget, thumbnails: string[]): string {
  const overall = g.fusedBest ?? g.best;
  // Per match, the crops of its track where it was first, best and last seen (or the one crop of older reports).
  const crops = [...g.items]
    .sort((a, b) => finite(b.match.confidence, 0) - finite(a.match.confidence, 0))
    .flatMap(({ result, match }) => {
      const several = arr<{ role: unknown; time: unknown; crop: unknown }>(match.evidence?.faceCrops);
      const list = several.length ? several.map((c) => ({ url: safeJpegDataUrl(c.crop), time: c.time, role: String(c.role) })) : [{ url: safeJpegDataUrl(match.evidence?.faceCrop), time: match.evidence?.time, role: '' }];
      return list.filter((c): c is { url: string; time: unknown; role: string } => c.url !== null).map((c) => ({ ...c, result }));
    })
    .slice(0, MAX_CROPS_PER_PERFORMER);
  // The enrolled reference beside the matched crops, so a reader compares them side by side.
  const hasFace = g.items.some(({ match }) => match.modality === 'face');
  const refHtml = crops.length || hasFace || thumbnails.length ? `${referenceFigures(g, thumbnails)}<span class="sep"></span>` : '';
  const cropHtml = crops.length || refHtml
    ? `<div class="crops">${refHtml}${crops
        .map(({ url, time, role, result }) => {
          const where = result.media.kind === 'image' ? baseName(result.media.path) : `${baseName(result.media.path)} at ${fmtTime(time)}`;
          const label = role === 'first' || role === 'best' || role === 'last' ? `${role}: ` : '';
          return `<figure><img src="${esc(url)}" alt="${visible(`face of ${g.name} in ${where}`)}"><figcaption>${esc(label)}${isolate(where)}</figcaption></figure>`;
        })
        .join('')}</div>`
    : '';
  const audio = g.items
    .filter(({ match }) => match.modality === 'voice')
    .map(({ result, match }) => {
      const url = safeOggDataUrl(match.evidence?.voiceClip);
      const where = `${baseName(result.media.path)} from ${fmtTime(match.evidence?.time)}`;
      if (!url) return `<figure class="clip"><figcaption>voice in ${isolate(where)}: <span class="empty">no clip</span></figcaption></figure>`;
      if (!clips.take()) return `<figure class="clip"><figcaption>voice in ${isolate(where)}: <span class="empty">clip not embedded (at most ${MAX_CLIPS_PER_PAGE} per page)</span></figcaption></figure>`;
      return `<figure class="clip"><audio controls preload="none" src="${esc(url)}" aria-label="${visible(`voice of ${g.name} in ${where}`)}"></audio><figcaption>voice in ${isolate(where)}</figcaption></figure>`;
    })
    .join('');
  const audioHtml = audio ? `<div class="clips">${audio}</div>` : '';
  const rows = g.items
    .map(
      ({ result, match }) =>
        `<tr><td class="mono">${isolate(result.media.path)}</td><td>${modality(match.modality)}</td><td class="num">${fmtScore(match.score)}</td><td class="num">${pctHtml(match.confidence)}</td><td>${decision(match.decision)}</td><td class="num">${esc(segmentSummary(match))}</td><td><code>${esc(match.modelId)}</code></td></tr>`,
    )
    .join('\n');
  // Say exactly which modalities agreed: "together" only where face and voice matched at the same moment.
  const v = g.fusedBest;
  const together = v !== undefined && arr(v.overlaps).length > 0 && arr(v.modalities).length > 1;
  const label = v ? modalityLabel(arr<string>(v.modalities), together) : modalityLabel([String(g.best.modality)], false);
  const fused = v
    ? `<p class="agreed">${esc(label[0]!.toUpperCase() + label.slice(1))}: ${decision(v.decision)} ${together ? 'fused confidence' : 'confidence'} ${pctHtml(v.confidence)}</p>`
    : '';
  return `<article class="card performer">
<h3>${isolate(g.name)} ${decision(overall.decision)}</h3>
<p class="meta">Performer id <code>${esc(g.performerId)}</code> · best confidence ${pctHtml(overall.confidence)} · found in ${new Set(g.items.map((i) => i.result.media.path)).size} media</p>
${consentLine(g.consent)}
${fused}${cropHtml}${audioHtml}
<table><thead><tr><th>media</th><th>modality</th><th>score</th><th>confidence</th><th>decision</th><th>where</th><th>model</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</article>`;
}

/** The performer's consent record and its status at scan time. */
function consentLine(c: ReportConsent | undefined): string {
  if (!c) return `<p class="consent">Consent: <span class="empty">not in this report</span></p>`;
  const status: Record<string, string> = { granted: 'granted', not_recorded: 'not recorded (enrolled explicitly without consent)', expired: 'expired', withdrawn: 'withdrawn' };
  const parts = [
    c.grantedBy !== undefined ? `granted by ${isolate(c.grantedBy)}` : '',
    c.grantedAt !== undefined ? `on ${esc(c.grantedAt)}` : '',
    c.scope !== undefined ? `scope ${isolate(c.scope)}` : '',
    c.expiresAt !== undefined ? `expires ${esc(c.expiresAt)}` : '',
    c.documentRef !== undefined ? `document <code>${visible(c.documentRef)}</code>` : '',
    c.withdrawnAt !== undefined ? `withdrawn ${esc(c.withdrawnAt)}` : '',
  ].filter(Boolean);
  return `<p class="consent">Consent: <b>${esc(status[String(c.status)] ?? c.status)}</b>${parts.length ? ` · ${parts.join(' · ')}` : ''}</p>`;
}

function mediaSection(results: ScanResult[]): string {
  if (results.length === 0) return `<section id="media"><h2>Scanned media</h2><p class="empty">No media was scanned.</p></section>`;
  const withMatches = results.filter((r) => arr(r.matches).length > 0);
  const without = results.filter((r) => arr(r.matches).length === 0);
  const clean = without.length
    ? `<h3>No enrolled performer found (${without.length})</h3><table><thead><tr><th>media</th><th>kind</th><th>sha256</th><th>scanned</th><th>warnings</th></tr></thead><tbody>
${without.map((r) => `<tr><td class="mono">${isolate(r.media.path)}</td><td>${esc(r.media.kind)}</td><td class="mono">${esc(r.media.sha256)}</td><td>${esc(r.scannedAt)}</td><td>${arr(r.warnings).map(visible).join('<br>')}</td></tr>`).join('\n')}
</tbody></table>`
    : '';
  return `<section id="media"><h2>Scanned media</h2>
<p class="legend">Timeline:<span class="l-face"></span>face<span class="l-voice"></span>voice<span class="l-both"></span>face and voice together · pale bars are <em>possible</em>, solid bars <em>match</em></p>
${withMatches.map(mediaCard).join('\n')}
${clean}
</section>`;
}

function mediaCard(r: ScanResult): string {
  const m = r.media;
  const facts = [
    `kind ${esc(m.kind)}`,
    `${fmtBytes(m.bytes)}`,
    m.duration !== undefined ? `duration ${fmtTime(m.duration)}` : '',
    m.width !== undefined && m.height !== undefined ? `${esc(m.width)}×${esc(m.height)}` : '',
    `scanned ${esc(r.scannedAt)}`,
    `gallery version ${esc(r.galleryVersion)}`,
  ].filter(Boolean);
  const matches = arr<ScanMatch>(r.matches);
  const rows = matches
    .map(
      (x) =>
        `<tr><td>${isolate(x.name)}</td><td>${modality(x.modality)}</td><td class="num">${fmtScore(x.score)}</td><td class="num">${pctHtml(x.confidence)}</td><td>${decision(x.decision)}</td><td class="num">${esc(segmentSummary(x))}</td><td class="num">${m.kind === 'image' ? '—' : fmtTime(x.evidence?.time)}</td><td><code>${esc(x.modelId)}</code></td></tr>`,
    )
    .join('\n');
  // A one-modality verdict repeats its match row; the table is for face and voice combined.
  const verdicts = arr<ScanVerdict>(r.verdicts).filter((v) => arr(v.modalities).length > 1);
  const verdictHtml = verdicts.length
    ? `<table><thead><tr><th>performer</th><th>modalities</th><th>fused confidence</th><th>decision</th><th>face and voice together</th></tr></thead><tbody>
${verdicts.map((v) => `<tr><td>${isolate(v.name)}</td><td>${esc(arr(v.modalities).join(' + '))}</td><td class="num">${pctHtml(v.confidence)}</td><td>${decision(v.decision)}</td><td class="num">${esc(arr<{ start: number; end: number }>(v.overlaps).map((o) => `${fmtTime(o.start)}–${fmtTime(o.end)}`).join(', ') || '—')}</td></tr>`).join('\n')}
</tbody></table>`
    : '';
  const timings = Object.entries(typeof r.timings === 'object' && r.timings !== null ? r.timings : {})
    .map(([k, v]) => `${esc(k)} ${Number.isFinite(v) ? Math.round(v) : '—'} ms`)
    .join(' · ');
  const warnings = arr<string>(r.warnings);
  return `<article class="card media">
<h3>${isolate(m.path)}</h3>
<p class="meta">${facts.join(' · ')}<br>sha256 <code>${esc(m.sha256)}</code></p>
${decisionRules(r)}
${timeline(r)}
<table><thead><tr><th>performer</th><th>modality</th><th>score</th><th>confidence</th><th>decision</th><th>where</th><th>evidence</th><th>model</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${verdictHtml}
${warnings.length ? `<ul class="warnings">${warnings.map((w) => `<li>${visible(w)}</li>`).join('')}</ul>` : ''}
${timings ? `<details><summary>Timings</summary><p class="mono">${timings}</p></details>` : ''}
</article>`;
}

/** The decision rule of each modality searched: thresholds, the false-match rates they hold and the gallery size. */
function decisionRules(r: ScanResult): string {
  const rules = arr<{ modality: unknown; modelId: unknown; falseMatchRate: { match: unknown; possible: unknown }; thresholds: { match: unknown; possible: unknown }; comparisons: unknown }>(r.decisionRules);
  if (rules.length === 0) return '';
  const rate = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? esc(String(v)) : '—');
  const items = rules.map(
    (d) =>
      `<li>${modality(d.modality)} (<code>${esc(d.modelId)}</code>): <b>match</b> when the score is at least ${fmtScore(d.thresholds?.match)}, <b>possible</b> at least ${fmtScore(d.thresholds?.possible)}; thresholds set so that someone not enrolled is reported as match with probability at most ${rate(d.falseMatchRate?.match)} per search (possible: ${rate(d.falseMatchRate?.possible)}) against a gallery of ${esc(d.comparisons)} templates</li>`,
  );
  return `<div class="rule"><b>Decision rule</b><ul>${items.join('')}</ul></div>`;
}

/** One timeline row: a label and bars in seconds. */
interface TimelineRow {
  label: string;
  cls: 'face' | 'voice' | 'both';
  bars: { start: number; end: number; possible: boolean; tip: string }[];
}

const TL_WIDTH = 1000;
const TL_LABEL = 220;
const TL_ROW = 22;
const TL_AXIS = 22;

/** An SVG timeline of where each performer's face and voice matched (and where both did), over the media duration. */
function timeline(r: ScanResult): string {
  const matches = arr<ScanMatch>(r.matches);
  const ends = matches.flatMap((x) => arr<{ end: number }>(x.segments).map((s) => finite(s.end, 0)));
  const duration = Math.max(finite(r.media.duration, 0), ...ends, 0);
  // Images (and anything without a duration) have nothing to lay out over time.
  if (r.media.kind === 'image' || duration <= 0) return '';
  const rows: TimelineRow[] = matches.map((x) => ({
    label: `${x.name} · ${x.modality}`,
    cls: x.modality === 'voice' ? 'voice' : 'face',
    bars: arr<{ start: number; end: number }>(x.segments).map((s) => ({
      start: finite(s.start, 0),
      end: finite(s.end, 0),
      possible: x.decision !== 'match',
      tip: `${x.name} ${x.modality} ${fmtTime(s.start)}–${fmtTime(s.end)} (${x.decision}, ${fmtPct(x.confidence)})`,
    })),
  }));
  for (const v of arr<ScanVerdict>(r.verdicts)) {
    const overlaps = arr<{ start: number; end: number }>(v.overlaps);
    if (overlaps.length === 0) continue;
    rows.push({
      label: `${v.name} · face+voice`,
      cls: 'both',
      bars: overlaps.map((o) => ({ start: finite(o.start, 0), end: finite(o.end, 0), possible: v.decision !== 'match', tip: `${v.name} face and voice ${fmtTime(o.start)}–${fmtTime(o.end)} (${v.decision}, ${fmtPct(v.confidence)})` })),
    });
  }
  const plot = TL_WIDTH - TL_LABEL - 10;
  const x = (t: number): number => TL_LABEL + (Math.min(Math.max(t, 0), duration) / duration) * plot;
  const height = TL_AXIS + rows.length * TL_ROW + 6;
  const step = tickStep(duration);
  const ticks: string[] = [];
  for (let t = 0; t <= duration + 1e-9; t += step) {
    const tx = x(t).toFixed(1);
    ticks.push(`<line class="grid" x1="${tx}" x2="${tx}" y1="${TL_AXIS - 4}" y2="${height}"/><text class="axis" x="${tx}" y="14" text-anchor="middle">${esc(fmtTick(t))}</text>`);
  }
  const body = rows
    .map((row, i) => {
      const y = TL_AXIS + i * TL_ROW;
      const bars = row.bars
        .map((b) => {
          const x0 = x(Math.min(b.start, b.end));
          // A point observation (one frame) still gets a visible mark.
          const w = Math.max(2, x(Math.max(b.start, b.end)) - x0);
          return `<rect class="bar-${row.cls}${b.possible ? ' possible' : ''}" x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${TL_ROW - 6}" rx="2"><title>${visible(b.tip)}</title></rect>`;
        })
        .join('');
      return `<text x="4" y="${y + TL_ROW / 2 + 4}">${visible(truncate(row.label, 34))}<title>${visible(row.label)}</title></text>${bars}`;
    })
    .join('\n');
  return `<svg class="timeline" viewBox="0 0 ${TL_WIDTH} ${height}" role="img" aria-label="${visible(`timeline of ${r.media.path}`)}" xmlns="http://www.w3.org/2000/svg">
${ticks.join('')}
${body}
</svg>`;
}

function failuresSection(failures: ScanFailure[]): string {
  if (failures.length === 0) return '';
  return `<section id="failures"><h2>Inputs that could not be scanned (${failures.length})</h2>
<table><thead><tr><th>input</th><th>code</th><th>message</th></tr></thead><tbody>
${failures.map((f) => `<tr><td class="mono">${isolate(f.media.path)}</td><td class="error"><code>${esc(f.error?.code)}</code></td><td>${esc(f.error?.message)}</td></tr>`).join('\n')}
</tbody></table></section>`;
}

function decision(d: unknown): string {
  const k = typeof d === 'string' && d in DECISION_RANK ? d : 'none';
  return `<span class="decision decision-${k}">${esc(d)}</span>`;
}

function modality(m: unknown): string {
  return `<span class="modality-${m === 'voice' ? 'voice' : 'face'}">${esc(m)}</span>`;
}

function segmentSummary(m: ScanMatch): string {
  const segs = arr<{ start: number; end: number; box?: { x: number; y: number; w: number; h: number } }>(m.segments);
  if (segs.length === 0) return '—';
  const box = segs[0]!.box;
  // An image's segment is {start: 0, end: 0, box}: the box is where, not the time.
  if (segs.every((s) => s.start === 0 && s.end === 0)) {
    return box ? `box ${Math.round(box.x)},${Math.round(box.y)} ${Math.round(box.w)}×${Math.round(box.h)}` : 'whole image';
  }
  return segs.map((s) => `${fmtTime(s.start)}–${fmtTime(s.end)}`).join(', ');
}

function arr<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

function finite(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function fmtScore(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : '—';
}

function pctHtml(v: unknown): string {
  return esc(fmtPct(v));
}

function fmtPct(v: unknown): string {
  return typeof v === 'number' && v >= 0 && v <= 1 ? formatConfidence(v) : '—';
}

/** Seconds as m:ss.s (or s.s under a minute). */
function fmtTime(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  if (v < 60) return `${v.toFixed(1)} s`;
  const m = Math.floor(v / 60);
  return `${m}:${(v - m * 60).toFixed(1).padStart(4, '0')}`;
}

function fmtTick(t: number): string {
  return t < 60 ? `${Number(t.toFixed(2))}s` : `${Math.floor(t / 60)}:${String(Math.round(t % 60)).padStart(2, '0')}`;
}

/** A round tick interval giving about 5 to 12 ticks. */
function tickStep(duration: number): number {
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  return steps.find((s) => duration / s <= 12) ?? Math.ceil(duration / 12 / 3600) * 3600;
}

function fmtBytes(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

function baseName(p: unknown): string {
  const s = String(p ?? '');
  return s.split(/[\\/]/).filter(Boolean).pop() ?? s;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
