import { runSqliteLoad } from '../test/helpers/load-runner';

// The SQLite load test with its figures (issue #15): npm run bench:load -- [--seconds 120] [--scanners 8]

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

runSqliteLoad({ seconds: arg('seconds', 120), scanners: arg('scanners', 8) })
  .then((f) => {
    console.log(JSON.stringify(f, null, 2));
    const ok = f.busy === 0 && f.errors.length === 0 && f.lostEnrollments.length === 0 && f.undeleted.length === 0 && f.maxRssGrowthMB <= 50;
    console.log(ok ? 'PASS' : 'FAIL');
    process.exit(ok ? 0 : 1);
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
