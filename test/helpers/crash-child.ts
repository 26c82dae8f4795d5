// Child process for src/store/crash.test.ts: enrolls (and now and then deletes) forever, appending one line to a side
// file after each call returns (`E performer batch`, `D performer`), until the parent kills it with SIGKILL.
// Usage: node -r @swc-node/register test/helpers/crash-child.ts DB SIDE_FILE KEY_HEX SEED (DB: a file or postgres:// URL)
import * as crypto from 'crypto';
import * as fs from 'fs';
import { Registry } from '../../src/match/registry';
import { openStore } from '../../src/store/open';
import { fakeHash, nearVector, rng, unitVector } from './vectors';

export const FACE_MODEL = 'face-m';
export const VOICE_MODEL = 'voice-m';
export const FACE_ITEMS = 3;
export const VOICE_WINDOWS = 3;

/** The artefact bytes the child stores with a reference (deterministic, so the parent can check them). */
export function crashArtefact(sha256: string, kind: 'thumbnail' | 'fingerprint'): Uint8Array {
  const seed = crypto.createHash('sha256').update(`${sha256}:${kind}`).digest();
  return new Uint8Array(Buffer.concat(Array.from({ length: kind === 'thumbnail' ? 64 : 8 }, (_, i) => crypto.createHash('sha256').update(seed).update(String(i)).digest())));
}

async function main(): Promise<void> {
  const [db, side, keyHex, seedText] = process.argv.slice(2);
  const r = rng(Number(seedText));
  const store = await openStore({ location: db!, key: keyHex! });
  const registry = new Registry(store);
  const known = (await store.listPerformers()).map((p) => p.id);
  process.stdout.write('ready\n');
  for (let n = 0; ; n++) {
    if (known.length > 3 && n % 7 === 6) {
      // Deletes are killed mid-way too: a performer must then be wholly present or wholly gone.
      const victim = known.splice(Math.floor(r() * known.length), 1)[0]!;
      await registry.delete(victim);
      fs.appendFileSync(side!, `D ${victim}\n`);
      continue;
    }
    // An existing performer now and then; otherwise a new one, created in the same transaction as its first batch.
    const existing = known.length > 0 && n % 3 === 2 ? known[Math.floor(r() * known.length)]! : null;
    const batch = crypto.randomUUID();
    const faceBase = unitVector(r, 64);
    const voiceBase = unitVector(r, 32);
    const items = [];
    for (let i = 0; i < FACE_ITEMS; i++) {
      const sha256 = fakeHash(`${batch}:${i}`);
      items.push({
        sha256,
        modality: 'face' as const,
        quality: { batch, item: i, items: FACE_ITEMS + 1 },
        templates: [{ modelId: FACE_MODEL, vector: nearVector(r, faceBase, 0.7), quality: 0.2 + 0.8 * r() }],
        artifacts: [
          { kind: 'thumbnail' as const, data: crashArtefact(sha256, 'thumbnail') },
          { kind: 'fingerprint' as const, data: crashArtefact(sha256, 'fingerprint') },
        ],
      });
    }
    const voiceSha = fakeHash(`${batch}:voice`);
    items.push({
      sha256: voiceSha,
      artifacts: [{ kind: 'fingerprint' as const, data: crashArtefact(voiceSha, 'fingerprint') }],
      modality: 'voice' as const,
      quality: { batch, item: FACE_ITEMS, items: FACE_ITEMS + 1 },
      templates: Array.from({ length: VOICE_WINDOWS }, () => ({ modelId: VOICE_MODEL, vector: nearVector(r, voiceBase, 0.6), quality: 1 })),
    });
    const id = existing ?? (await registry.enrollNew({ name: `perf-${crypto.randomUUID()}`, noConsent: true }, items)).performerId;
    if (existing) await registry.enroll(existing, items);
    else known.push(id);
    fs.appendFileSync(side!, `E ${id} ${batch}\n`);
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${String(e instanceof Error ? e.stack : e)}\n`);
    process.exit(1);
  });
}
