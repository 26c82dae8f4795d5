import { runSqliteLoad } from '../helpers/load-runner';

// Issue #15's load test: 8 processes scanning plus one enrolling and deleting on one SQLite store for a bounded
// time (LIKENESS_LOAD_SECONDS, default 30 s per process after its start-up; `npm run bench:load` runs it longer).

test('8 scanners + enroll/delete on one SQLite store: no busy error reaches a caller, nothing lost, RSS flat', async () => {
  const seconds = Number(process.env.LIKENESS_LOAD_SECONDS ?? 30);
  const f = await runSqliteLoad({ seconds, scanners: 8 });
  console.log(`sqlite load: ${JSON.stringify({ ...f, rss: undefined })}\nper scanner RSS (MB, after warm-up -> end): ${f.rss.map((r) => `${r.afterWarmupMB}->${r.endMB}`).join(', ')}`);
  expect(f.busy).toBe(0);
  expect(f.errors).toEqual([]);
  expect(f.lostEnrollments).toEqual([]);
  expect(f.undeleted).toEqual([]);
  expect(f.enrolls).toBeGreaterThan(0);
  expect(f.deletes).toBeGreaterThan(0);
  expect(f.scans).toBeGreaterThan(8);
  for (const r of f.rss) expect(Number.isFinite(r.afterWarmupMB)).toBe(true);
  expect(f.maxRssGrowthMB).toBeLessThanOrEqual(50);
}, 900_000);
