const { PGlite } = require('@electric-sql/pglite');
(async () => {
  let t0 = Date.now();
  const db = new PGlite('/tmp/pgprobe'); await db.waitReady; console.log('reopen dir', Date.now() - t0);
  t0 = Date.now();
  const m = new PGlite(); await m.waitReady; console.log('memory', Date.now() - t0);
  t0 = Date.now();
  const dump = await m.dumpDataDir('none'); console.log('dump', Date.now() - t0, dump.size);
  t0 = Date.now();
  const m2 = new PGlite({ loadDataDir: dump }); await m2.waitReady; console.log('from dump', Date.now() - t0);
  t0 = Date.now();
  const { pg_trgm } = require('@electric-sql/pglite/contrib/pg_trgm');
  const m3 = new PGlite({ extensions: { pg_trgm } }); await m3.waitReady; await m3.exec('create extension pg_trgm'); console.log('trgm', Date.now() - t0);
  t0 = Date.now();
  await m.query('select pg_advisory_xact_lock(1)'); console.log('advisory ok');
  const r = await m.query('select clock_timestamp() a, now() b'); console.log(r.rows);
})();
