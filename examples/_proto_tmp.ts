import * as fs from 'fs';
import * as path from 'path';
import { Guard } from '../src/scan/guard';
import { buildDemoMedia } from './media';
import { renderHtmlReport } from '../src/report/html';
(async () => {
  const dir = '/tmp/proto'; fs.rmSync(dir, { recursive: true, force: true });
  let t = Date.now();
  const m = await buildDemoMedia(path.join(dir, 'media'));
  console.log('media', Date.now() - t); t = Date.now();
  const g = await Guard.open({ db: path.join(dir, 'db.sqlite'), key: null });
  console.log('open', Date.now() - t); t = Date.now();
  const r = await g.enroll({ name: 'Sample Performer', consent: { grantedBy: 'Sample Performer', grantedAt: new Date().toISOString(), scope: 'demo' } }, [m.referencePhoto, m.referenceVoice]);
  console.log('enroll', Date.now() - t, JSON.stringify(r)); t = Date.now();
  const res = await g.scan(m.adVideo, { onProgress: (p) => process.stderr.write(`${p.stage} ${p.frames ?? ''} ${p.seconds ?? ''}\r`) });
  console.log('scan', Date.now() - t); t = Date.now();
  console.log(JSON.stringify(res, (k, v) => (k === 'faceCrop' ? String(v).slice(0, 40) : v), 1));
  for (const f of [m.matchingImage, m.otherImage]) { const x = await g.scan(f); console.log(f, JSON.stringify(x, (k, v) => (k === 'faceCrop' ? String(v).slice(0, 40) : v))); }
  fs.writeFileSync(path.join(dir, 'report.html'), renderHtmlReport({ schemaVersion: 1, results: [res] }));
  console.log(JSON.stringify(m.truth));
  await g.close();
})();
