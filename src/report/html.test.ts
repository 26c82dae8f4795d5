import { createHash } from 'crypto';
import { isLikenessError } from '../errors';
import type { ScanReportFile, ScanResult } from './schema';
import { EVIL_NAME, EVIL_PATH, QUOTE_NAME, jpegDataUrl, sampleReport } from '../../test/report-fixtures';
import { escapeHtml, renderHtmlReport, safeJpegDataUrl, safeOggDataUrl } from './html';

describe('renderHtmlReport', () => {
  let html: string;
  beforeAll(async () => {
    html = renderHtmlReport(await sampleReport(), { title: 'Review <of> "ads"', generatedAt: '2026-11-28T02:00:00Z' });
  });

  it('never emits a hostile name, path or title as markup', () => {
    expect(html).not.toContain(EVIL_NAME);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>Bold</b>');
    expect(html).toContain(escapeHtml(EVIL_NAME));
    expect(html).toContain(escapeHtml(QUOTE_NAME));
    expect(html).toContain(escapeHtml(EVIL_PATH));
    expect(html).toContain('<title>Review &lt;of&gt; &quot;ads&quot;</title>');
  });

  it('embeds only JPEG data URLs as images', () => {
    const srcs = [...html.matchAll(/<img [^>]*src="([^"]*)"/g)].map((m) => m[1]!);
    expect(srcs).toHaveLength(2);
    for (const s of srcs) expect(s.startsWith('data:image/jpeg;base64,/9j/')).toBe(true);
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('example.com');
    expect(html).not.toContain('image/svg+xml');
  });

  it('forbids network loads and scripts with a CSP meta, and needs no external resource', () => {
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('img-src data:');
    expect(csp).not.toContain('unsafe-inline');
    expect(html).not.toMatch(/(?:src|href)="(?!data:)/);
    expect(html).not.toMatch(/url\(/);
  });

  it('lists performers best first, failures with codes, hashes, models and scan times', () => {
    const evilCard = html.indexOf(`<h3><bdi>${escapeHtml(EVIL_NAME)}`);
    const quoteCard = html.indexOf(`<h3><bdi>${escapeHtml(QUOTE_NAME)}`);
    expect(evilCard).toBeGreaterThan(0);
    expect(quoteCard).toBeGreaterThan(evilCard); // fused 0.9999 before 0.97
    for (const s of ['E_DECODE', 'E_TOO_LARGE', 'a'.repeat(64), 'face-model-x', 'voice-model-y', '2026-11-28T01:00:00.000Z', 'clean/nobody.wav', 'box 10,20 64×80', '99.3%', '&gt;99.9%', 'Face and voice together']) {
      expect(html).toContain(s);
    }
    expect(html).toContain('weight-free baseline &lt;run models pull&gt;');
  });

  it('draws timeline bars in proportion to the media duration', () => {
    const svg = /<svg class="timeline" viewBox="0 0 1000 (\d+)"[\s\S]*?<\/svg>/.exec(html)![0];
    const rects = [...svg.matchAll(/<rect class="bar-(\w+)[^"]*" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ cls: m[1]!, x: Number(m[2]), w: Number(m[3]) }));
    // face 2-5 and 8-9.5, voice 3-7, possible face at 6 (point), face+voice 3-5: plot spans x 220..990 over 12 s.
    const at = (t: number): number => 220 + (t / 12) * 770;
    expect(rects.map((r) => r.cls)).toEqual(['face', 'face', 'voice', 'face', 'both']);
    expect(rects[0]!.x).toBeCloseTo(at(2), 0);
    expect(rects[0]!.w).toBeCloseTo(at(5) - at(2), 0);
    expect(rects[2]!.x).toBeCloseTo(at(3), 0);
    expect(rects[3]!.w).toBeGreaterThanOrEqual(2);
    expect(rects[4]!.w).toBeCloseTo(at(5) - at(3), 0);
    // The image gets no timeline; only the video has one.
    expect(html.match(/<svg class="timeline"/g)).toHaveLength(1);
  });

  it('shows each performer\'s enrolled reference thumbnail beside the matched crops, or "no thumbnail"', async () => {
    const file = await sampleReport();
    const ref = await jpegDataUrl([10, 200, 30], 96);
    const withRefs: ScanReportFile = {
      ...file,
      referenceThumbnails: [
        { performerId: 'p-evil', thumbnails: [{ referenceHash: 'b'.repeat(64), thumbnail: ref }] },
        // A hand-edited entry: anything but a JPEG data URL is dropped, so this performer has none to show.
        { performerId: 'p-quote', thumbnails: [{ referenceHash: 'c'.repeat(64), thumbnail: 'https://example.com/x.jpg' }] },
      ],
    };
    const page = renderHtmlReport(withRefs, { generatedAt: '2026-11-28T02:00:00Z' });
    const card = (name: string): string => {
      const start = page.indexOf(`<h3><bdi>${escapeHtml(name)}`);
      return page.slice(start, page.indexOf('</article>', start));
    };
    const evil = card(EVIL_NAME);
    const row = /<div class="crops">([\s\S]*?)<\/div>/.exec(evil)![1]!;
    const figures = [...row.matchAll(/<figure(?: class="([^"]*)")?>/g)].map((m) => m[1] ?? 'crop');
    expect(figures).toEqual(['reference', 'crop']); // the reference first, then the matched crop beside it
    expect(row.indexOf(ref)).toBeGreaterThan(-1);
    expect(row.indexOf(ref)).toBeLessThan(row.indexOf((file.results[0] as ScanResult).matches[0]!.evidence.faceCrop!));
    expect(row).toContain(`alt="enrolled reference 1 of ${escapeHtml(EVIL_NAME)}"`);
    expect(card(QUOTE_NAME)).toContain('no thumbnail');
    expect(card(QUOTE_NAME)).not.toContain('example.com');
    expect(page.split(ref).length - 1).toBe(1);
    // The page names the hash of the JSON without the thumbnails (what `likeness scan --json` writes).
    expect(page).toContain(createHash('sha256').update(JSON.stringify(file, null, 2) + '\n').digest('hex'));
    expect(evil).not.toContain('no thumbnail');
    // Without any thumbnails (a report from before they were kept), every face-matched performer says so.
    const old = renderHtmlReport(file, { generatedAt: '2026-11-28T02:00:00Z' });
    expect(old.match(/no thumbnail/g)).toHaveLength(2);
  });

  it('renders an empty report and rejects a non-report with E_INPUT', () => {
    const empty = renderHtmlReport({ schemaVersion: 1, results: [] });
    expect(empty).toContain('No enrolled performer was found');
    for (const bad of [null, {}, { results: 'x' }] as unknown as ScanReportFile[]) {
      let err: unknown;
      try {
        renderHtmlReport(bad);
      } catch (e) {
        err = e;
      }
      expect(isLikenessError(err) && err.code).toBe('E_INPUT');
    }
  });

  it('survives malformed entries from a hand-edited JSON file', () => {
    const file = { schemaVersion: 1, results: [null, 5, { media: { path: 'x.mp4', kind: 'video', duration: 'long' }, matches: [{ name: 'A', segments: [{ start: 'a', end: NaN }] }], verdicts: 'no' }] } as unknown as ScanReportFile;
    const out = renderHtmlReport(file);
    expect(out).toContain('x.mp4');
    expect(out).not.toContain('NaN');
  });
});

describe('safeJpegDataUrl', () => {
  it('keeps well-formed JPEG data URLs and drops everything else', async () => {
    const ok = await jpegDataUrl();
    expect(safeJpegDataUrl(ok)).toBe(ok);
    for (const bad of ['data:image/png;base64,iVBORw0KGgo=', 'data:image/jpeg;base64,/9j/"onerror="x', `${ok}"`, 'data:image/jpeg;base64,AAAA', 'data:image/jpeg,/9j/', 'http://x/a.jpg', 42, null, `data:image/jpeg;base64,/9j/${'A'.repeat(600_000)}`]) {
      expect(safeJpegDataUrl(bad)).toBeNull();
    }
  });
});

test('names and file names are isolated in <bdi> and their bidi and control characters are shown, never applied', async () => {
  const base = await sampleReport();
  const name = 'Jane \u202Eexe.doe\u202C Doe\u001b[2J';
  const file = 'uploads/clip\u202Egpj.exe\u2066.mp4';
  const first = base.results[0]! as Extract<ScanReportFile['results'][number], { matches: unknown }>;
  const report: ScanReportFile = {
    ...base,
    results: [
      { ...first, media: { ...first.media, path: file }, matches: first.matches.map((m) => ({ ...m, name })), verdicts: first.verdicts.map((v) => ({ ...v, name })) },
      { media: { path: `broken\u202E.mp4` }, error: { code: 'E_DECODE', message: 'x' } },
    ],
  };
  const out = renderHtmlReport(report, { generatedAt: '2026-11-28T02:00:00Z' });
  expect(out).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u001b]/);
  expect(out).toContain('<bdi>Jane \\u202eexe.doe\\u202c Doe\\u001b[2J</bdi>');
  expect(out).toContain('<bdi>uploads/clip\\u202egpj.exe\\u2066.mp4</bdi>');
  expect(out).toContain('<bdi>broken\\u202e.mp4</bdi>');
  // Every place a name or a path is HTML content, it is in a <bdi>.
  expect(out).not.toMatch(/<(?:td|h3)[^>]*>(?:Jane|uploads\/clip|broken)/);
});

describe('labels say exactly which modalities agreed', () => {
  const sha = 'd'.repeat(64);
  const voiceOnly: ScanReportFile = {
    schemaVersion: 1,
    results: [
      {
        media: { path: 'voiceover.wav', sha256: sha, kind: 'audio', bytes: 1000, duration: 10 },
        matches: [{ performerId: 'p1', name: 'Voice Person', modality: 'voice', score: 0.8, confidence: 0.99996, decision: 'match', segments: [{ start: 1, end: 4 }], evidence: { time: 1 }, modelId: 'v' }],
        verdicts: [{ performerId: 'p1', name: 'Voice Person', modalities: ['voice'], confidence: 0.99996, decision: 'match', overlaps: [] }],
        timings: {},
        warnings: [],
        galleryVersion: 1,
        scannedAt: '2026-12-02T00:00:00.000Z',
      },
    ],
  };

  it('a voice-only finding is labelled voice only, never face and voice together', () => {
    const html = renderHtmlReport(voiceOnly);
    expect(html).toContain('Voice only: <span class="decision decision-match">match</span> confidence &gt;99.9%');
    expect(html).not.toMatch(/face and voice together:/i);
  });

  it('face and voice of one performer at different times are not called together', () => {
    const r = JSON.parse(JSON.stringify(voiceOnly)) as ScanReportFile;
    const res = r.results[0] as { verdicts: { modalities: string[] }[] };
    res.verdicts[0]!.modalities = ['face', 'voice'];
    const html = renderHtmlReport(r);
    expect(html).toContain('Face and voice, at different times:');
    expect(html).not.toMatch(/face and voice together:/i);
  });
});

describe('provenance and the decision rule', () => {
  it('shows the tool, the models with their sha256, the JSON hash and each decision rule', async () => {
    const { createHash } = await import('crypto');
    const file = await sampleReport();
    const html = renderHtmlReport(file);
    expect(html).toContain('Tool likeness-guard 9.9.9-test');
    expect(html).toContain('e'.repeat(64));
    expect(html).toContain('no weights file');
    const want = createHash('sha256').update(JSON.stringify(file, null, 2) + '\n').digest('hex');
    expect(html).toContain(`<code class="json-sha256">${want}</code>`);
    expect(renderHtmlReport(file, { jsonSha256: 'f'.repeat(64) })).toContain(`<code class="json-sha256">${'f'.repeat(64)}</code>`);
    expect(html).toMatch(/<b>match<\/b> when the score is at least 0\.520, <b>possible<\/b> at least 0\.410; .* at most 0\.001 per search \(possible: 0\.01\) against a gallery of 1234 templates/);
  });

  it('an older report without them still renders and says what is missing', () => {
    const html = renderHtmlReport({ schemaVersion: 1, results: [] });
    expect(html).toContain('Tool <span class="empty">not recorded</span>');
    expect(html).not.toContain('Decision rule');
  });
});

describe('consent', () => {
  it('shows each matched performer consent record and status, escaped', async () => {
    const html = renderHtmlReport(await sampleReport());
    expect(html).toContain('Consent: <b>granted</b> · granted by <bdi>Agent &lt;x&gt;</bdi> · on 2026-01-01T00:00:00.000Z · scope <bdi>face+voice</bdi> · document <code>DMS-42</code>');
    expect(html).toContain('Consent: <b>not recorded (enrolled explicitly without consent)</b>');
  });
});

describe('voice clips', () => {
  it('embeds a player per voice match (Ogg data URLs only, allowed by media-src data:), at most 20 per page', async () => {
    const file = await sampleReport();
    const html = renderHtmlReport(file);
    const players = [...html.matchAll(/<audio controls preload="none" src="([^"]*)"/g)].map((m) => m[1]!);
    expect(players).toHaveLength(1);
    expect(players[0]!.startsWith('data:audio/ogg;base64,T2dnUw')).toBe(true);
    expect(/<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]).toContain('media-src data:');
    expect(safeOggDataUrl('data:audio/ogg;base64,AAAA')).toBeNull();
    expect(safeOggDataUrl('https://example.com/a.ogg')).toBeNull();

    // 25 voice matches in one file: 20 players, the rest listed without one.
    const res = file.results[0] as ScanResult;
    const voice = res.matches.find((m) => m.modality === 'voice')!;
    res.matches = Array.from({ length: 25 }, (_, i) => ({ ...voice, performerId: `v${i}`, name: `Voice ${i}` }));
    const many = renderHtmlReport(file);
    expect([...many.matchAll(/<audio /g)]).toHaveLength(20);
    expect([...many.matchAll(/clip not embedded \(at most 20 per page\)/g)]).toHaveLength(5);
    res.matches = [{ ...voice, evidence: { time: 4, voiceClip: 'javascript:alert(1)' } }];
    const bad = renderHtmlReport(file);
    expect(bad).not.toContain('<audio');
    expect(bad).toContain('no clip');
  });
});

describe('track crops', () => {
  it('shows the first, best and last crops of a track, labelled, in time order', async () => {
    const file = await sampleReport();
    const res = file.results[0] as ScanResult;
    const face = res.matches[0]!;
    const [a, b, c] = [await jpegDataUrl([10, 20, 30]), face.evidence.faceCrop!, await jpegDataUrl([30, 20, 10])];
    face.evidence.faceCrops = [
      { role: 'first', time: 2, crop: a },
      { role: 'best', time: 3.5, crop: b },
      { role: 'last', time: 9, crop: c },
    ];
    const html = renderHtmlReport(file);
    const i = [a, b, c].map((u) => html.indexOf(`src="${u}"`));
    expect(i.every((x) => x > 0)).toBe(true);
    expect(i[0]! < i[1]! && i[1]! < i[2]!).toBe(true);
    for (const t of ['first: ', 'best: ', 'last: ']) expect(html).toContain(t);
  });
});

describe('origin', () => {
  it('shows per segment the reused reference with its thumbnail, or "not one of the enrolled references"; never claims synthesis', async () => {
    const file = await sampleReport();
    const res = file.results[0] as ScanResult;
    const [face, voice] = res.matches;
    const thumb = await jpegDataUrl([200, 180, 40]);
    face!.segments = [
      { start: 2, end: 5, origin: { kind: 'reference-reuse', referenceId: 'f'.repeat(64), performerId: 'p-evil', referenceOffset: 0, similarity: 0.93 } },
      { start: 8, end: 9.5, origin: { kind: 'new-media' } },
    ];
    voice!.segments = [{ start: 3, end: 7, origin: { kind: 'reference-reuse', referenceId: 'd'.repeat(64), performerId: 'p-evil', referenceOffset: 12.5, similarity: 0.71 } }];
    res.matches[2]!.segments = [{ start: 6, end: 6, origin: { kind: 'unknown' } }];
    const html = renderHtmlReport({ ...file, referenceThumbnails: [{ performerId: 'p-evil', thumbnails: [{ referenceHash: 'f'.repeat(64), thumbnail: thumb }] }] });
    const cells = [...html.matchAll(/<td class="origin">([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
    expect(cells.slice(3).every((c) => c.includes('not checked'))).toBe(true); // matches without origins (older reports)
    expect(cells[0]).toContain('reuse of enrolled reference');
    expect(cells[0]).toContain(`<code>${'f'.repeat(12)}</code>`);
    expect(cells[0]).toContain(`src="${thumb}"`);
    expect(cells[0]).toContain('not one of the enrolled references');
    expect(cells[1]).toContain(`<code>${'d'.repeat(12)}</code>`);
    expect(cells[1]).toContain('from 12.5 s of it');
    expect(cells[2]).toContain('unknown');
    expect(html.toLowerCase()).not.toContain('synthetic');
    // A hostile origin (a reference id with markup, a non-data thumbnail) is escaped or dropped.
    face!.segments = [{ start: 2, end: 5, origin: { kind: 'reference-reuse', referenceId: '<img src=x>', performerId: 'p', referenceOffset: 0, similarity: 1 } }];
    const hostile = renderHtmlReport({ ...file, referenceThumbnails: [{ performerId: 'p', thumbnails: [{ referenceHash: '<img src=x>', thumbnail: 'javascript:alert(1)' }] }] });
    expect(hostile).not.toContain('<img src=x>');
    expect(hostile).not.toContain('javascript:');
  });
});
