// Child process for the key-rotation-under-load test (src/store/crash.test.ts): a "worker" started with the new key
// and the old one as LIKENESS_OLD_KEYS, reading every template of model `m` (and enrolling now and then) in a loop
// while the parent rotates the store from the old key to the new one. Prints `ready`, then on SIGTERM
// `reads N enrolls M` and exits 0; any failure (E_CRYPTO included) is printed and exits 1.
// Usage: LIKENESS_KEY=new LIKENESS_OLD_KEYS=old node -r @swc-node/register test/helpers/rotation-reader.ts DB
import { openStore } from '../../src/store/open';
import { fakeHash, rng, unitVector } from './vectors';

async function main(): Promise<void> {
  const db = process.argv[2]!;
  const store = await openStore({ location: db });
  const r = rng(process.pid);
  let reads = 0;
  let enrolls = 0;
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  process.stdout.write('ready\n');
  while (!stop) {
    let n = 0;
    for await (const t of store.templates('m')) if (t.vector.length === 64) n++;
    if (n < 120) throw new Error(`read ${n} templates, expected at least 120`);
    reads++;
    if (reads % 5 === 0) {
      const p = await store.upsertPerformer({ name: `w${process.pid}-${enrolls}`, consent: null });
      const sha = fakeHash(`${process.pid}:${enrolls}`);
      await store.addEnrollment(p.id, [{ sha256: sha, modality: 'face', quality: null }], [
        { modelId: 'm', modality: 'face', kind: 'item', vector: unitVector(r, 64), referenceHash: sha, quality: 1 },
      ]);
      enrolls++;
    }
    await new Promise((res) => setImmediate(res));
  }
  await store.close();
  process.stdout.write(`reads ${reads} enrolls ${enrolls}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as { code?: string }).code ?? ''} ${String(e instanceof Error ? e.stack : e)}\n`);
  process.exit(1);
});
