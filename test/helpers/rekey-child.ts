// Child process for src/store/crash.test.ts: rotates the template key back and forth (A -> B -> A ...) in small
// batches forever, until the parent kills it with SIGKILL.
// Usage: node -r @swc-node/register test/helpers/rekey-child.ts DB KEY_A_HEX KEY_B_HEX
import { chainKeyProviders, staticKeyProvider } from '../../src/store/crypto';
import { openStore } from '../../src/store/open';

async function main(): Promise<void> {
  const [db, a, b] = process.argv.slice(2);
  const keyA = staticKeyProvider(a!);
  const keyB = staticKeyProvider(b!);
  const store = await openStore({ location: db!, key: chainKeyProviders(keyA, keyB) });
  process.stdout.write('ready\n');
  for (let n = 0; ; n++) await store.rekey(n % 2 === 0 ? keyB : keyA, { batchSize: 5 });
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${String(e instanceof Error ? e.stack : e)}\n`);
    process.exit(1);
  });
}
