// An upload-moderation hook for a web server: every uploaded file is scanned before it is accepted, and an upload in
// which an enrolled performer is found (`match`) is rejected with 422 and the evidence; `possible` is accepted but
// flagged for review. Plain node:http, bound to 127.0.0.1.
//
// usage: node -r @swc-node/register examples/upload-moderation.ts [--serve] [--port N]
// Without --serve it starts the server on a free port, uploads a still that re-uses the sample performer's photo and
// one of people who are not enrolled (example media), prints the decisions, and stops. With --serve it keeps running:
//   curl --data-binary @photo.jpg -H 'content-type: image/jpeg' http://127.0.0.1:PORT/upload
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { parseArgs } from 'util';
import type { Guard } from '../src/guard';
import { isScanFailure, type ScanMatch } from '../src/report/schema';
import { enrollSamplePerformer, exampleMedia, exampleOut, fail, openGuard } from './common';

/** Largest upload accepted; bigger bodies get 413 without being buffered. */
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
/** An upload that takes longer to scan is rejected (never hang a request). */
const SCAN_TIMEOUT_MS = 60_000;

/** What the hook decided about one upload. */
export interface ModerationDecision {
  accepted: boolean;
  status: number;
  reason: string;
  performers?: { name: string; modality: string; decision: string; confidence: number }[];
  sha256?: string;
}

/** The hook: scans the uploaded bytes and decides. Usable from any framework (Express, Fastify...). */
export async function moderateUpload(guard: Guard, body: Buffer, label: string, signal?: AbortSignal): Promise<ModerationDecision> {
  const result = await guard.scan(body, { label, ...(signal ? { signal } : {}) });
  if (isScanFailure(result)) return { accepted: false, status: 415, reason: `${result.error.code}: ${result.error.message}` };
  const brief = (m: ScanMatch): NonNullable<ModerationDecision['performers']>[number] => ({ name: m.name, modality: m.modality, decision: m.decision, confidence: m.confidence });
  const matches = result.matches.filter((m) => m.decision === 'match');
  if (matches.length) return { accepted: false, status: 422, reason: 'an enrolled performer appears in this upload', performers: matches.map(brief), sha256: result.media.sha256 };
  const possible = result.matches.filter((m) => m.decision === 'possible');
  if (possible.length) return { accepted: true, status: 202, reason: 'accepted, flagged for review', performers: possible.map(brief), sha256: result.media.sha256 };
  return { accepted: true, status: 201, reason: 'no enrolled performer found', sha256: result.media.sha256 };
}

/** Reads a request body up to `limit` bytes; null when it is larger. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return null;
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The server: POST /upload with the file as the body. Scans run one at a time (the models use every core). */
export function createServer(guard: Guard): http.Server {
  let queue: Promise<unknown> = Promise.resolve();
  return http.createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/upload') return send(res, 404, { error: 'POST the file to /upload' });
      const body = await readBody(req, MAX_UPLOAD_BYTES);
      if (body === null) return send(res, 413, { error: `uploads are limited to ${MAX_UPLOAD_BYTES} bytes` });
      if (body.length === 0) return send(res, 400, { error: 'empty upload' });
      const name = String(req.headers['x-file-name'] ?? 'upload').slice(0, 200);
      const signal = AbortSignal.timeout(SCAN_TIMEOUT_MS);
      const run = queue.then(() => moderateUpload(guard, body, name, signal));
      queue = run.catch(() => undefined);
      const d = await run;
      send(res, d.status, d);
    })().catch((e: unknown) => {
      // A scan that throws (store, models, timeout) must not take the server down: the upload is refused.
      if (!res.headersSent) send(res, 503, { accepted: false, error: e instanceof Error ? e.message : String(e) });
    });
  });
}

async function upload(port: number, file: string): Promise<{ status: number; body: ModerationDecision }> {
  const res = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body: fs.readFileSync(file), headers: { 'content-type': 'application/octet-stream', 'x-file-name': path.basename(file) } });
  return { status: res.status, body: (await res.json()) as ModerationDecision };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { serve: { type: 'boolean' }, port: { type: 'string' } } });
  const out = exampleOut('upload-moderation');
  const media = await exampleMedia(out);
  const guard = await openGuard(path.join(out, 'likeness.db'), { fresh: true });
  const server = createServer(guard);
  try {
    const r = await enrollSamplePerformer(guard, media);
    console.log(`enrolled ${r.name} (${r.performerId})`);
    await new Promise<void>((resolve) => server.listen(Number(values.port ?? 0), '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    console.log(`moderation server on http://127.0.0.1:${port}/upload`);
    if (values.serve) {
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      return;
    }
    for (const file of [media.matchingImage, media.otherImage]) {
      const { status, body } = await upload(port, file);
      const who = body.performers?.map((p) => `${p.name} (${p.modality} ${p.decision}, confidence ${p.confidence.toFixed(3)})`).join(', ');
      console.log(`${path.basename(file)}: HTTP ${status} ${body.accepted ? 'ACCEPTED' : 'REJECTED'}: ${body.reason}${who ? `: ${who}` : ''}`);
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await guard.close();
  }
}

if (require.main === module) main().catch(fail);
