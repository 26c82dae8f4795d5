import { makeMalformedCorpus } from '../test/fuzz/corpus';

// Writes the malformed-media corpus of issue #15 into a folder and lists it by class:
//   node -r @swc-node/register scripts/make-malformed-corpus.ts DIR [--seed N] [--small]

const dir = process.argv[2];
if (!dir) {
  console.error('usage: make-malformed-corpus.ts DIR [--seed N] [--small]');
  process.exit(1);
}
const i = process.argv.indexOf('--seed');
makeMalformedCorpus(dir, { seed: i > 0 ? Number(process.argv[i + 1]) : 15, large: !process.argv.includes('--small') })
  .then((entries) => {
    const by: Record<string, number> = {};
    for (const e of entries) by[e.cls] = (by[e.cls] ?? 0) + 1;
    console.log(JSON.stringify({ files: entries.length, byClass: by }, null, 2));
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
