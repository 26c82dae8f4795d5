import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fakeHash, rng, unitVector } from '../../test/helpers/vectors';
import { keyIdOf } from './crypto';
import { openStore, storeWarnings } from './open';

test('openStore opens SQLite for paths, PostgreSQL for URLs (E_STORE when unreachable); doctor warnings follow the key state', async () => {
  // Port 1 on loopback: nothing listens, so the PostgreSQL backend is chosen and fails to connect.
  await expect(openStore({ location: 'postgres://nobody:secret@127.0.0.1:1/likeness', key: null })).rejects.toMatchObject({
    code: 'E_STORE',
    message: expect.not.stringContaining('secret'),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-open-'));
  const file = path.join(dir, 'nested', 'r.db');
  try {
    const plain = await openStore({ location: file, key: null });
    expect(storeWarnings(await plain.info())).toEqual([expect.stringContaining('no template key is set')]);
    const p = await plain.upsertPerformer({ name: 'x', consent: null });
    const sha = fakeHash('x');
    await plain.addEnrollment(p.id, [{ sha256: sha, modality: 'face', quality: null, artifacts: [{ kind: 'thumbnail', data: new Uint8Array([0xff, 0xd8, 0xff]) }] }], [
      { modelId: 'm', modality: 'face', kind: 'item', vector: unitVector(rng(1), 8), referenceHash: sha, quality: 1 },
    ]);
    expect(storeWarnings(await plain.info())).toEqual([
      expect.stringContaining('1 templates are stored unencrypted'),
      expect.stringContaining('1 reference thumbnails / fingerprints are stored unencrypted'),
    ]);
    await plain.close();
    const key = crypto.randomBytes(32);
    const keyed = await openStore({ location: file, key });
    expect(storeWarnings(await keyed.info())).toEqual([expect.stringContaining('still unencrypted'), expect.stringContaining('thumbnails / fingerprints are still unencrypted')]);
    await keyed.rekey(() => ({ id: keyIdOf(key), key }));
    expect(storeWarnings(await keyed.info())).toEqual([]);
    await keyed.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
