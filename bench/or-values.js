#!/usr/bin/env node
/*
 * How long a search with N OR values takes to plan and to answer (issue 9: 500 prefix values took
 * 0.37-3.3 s to plan on PGlite), to choose SEARCH_MAX_VALUES from timings. For each N in BENCH_VALUES
 * (default 20,50,100,200,500) and each shape (`Organization?name=` N prefixes; a 4-link chain
 * `Endpoint?organization.partof.partof.name=` N prefixes), uncached, one request at a time,
 * BENCH_REPEAT (3) times: the HTTP answer's time, and EXPLAIN (planning only) of the statements the
 * search sent. Prints the medians. Run with SEARCH_MAX_VALUES at least the largest N.
 *
 *   npm run build && node bench/or-values.js [dataDir]
 */
'use strict';

const { dataDirFrom, storeOptions } = require('./lib/common');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');

const VALUES = (process.env.BENCH_VALUES || '20,50,100,200,500').split(',').map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT || 3);

function twoLetters(n) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const out = [];
  for (const a of letters) for (const b of letters) if (out.length < n) out.push(a + b);
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  dataDirFrom(process.argv.slice(2));
  const opened = await openBenchStore(storeOptions(), { record: true });
  const dir = await startBenchDirectory(opened.store, { searchCacheMb: 0 });
  const shapes = {
    name: (values) => `/Organization?name=${values.join(',')}`,
    chain: (values) => `/Endpoint?organization.partof.partof.name=${values.join(',')}`,
  };
  console.log('shape  values  http ms (median)  plan ms (EXPLAIN, median, all statements)  status');
  let nonce = 0;
  for (const [shape, path] of Object.entries(shapes)) {
    for (const n of VALUES) {
      const http = [];
      const plan = [];
      let status = 0;
      for (let i = 0; i < REPEAT; i++) {
        const values = [...twoLetters(n - 1), `q${++nonce}`];
        opened.recorder.start();
        const started = performance.now();
        const res = await fetch(dir.baseUrl + path(values));
        await res.arrayBuffer();
        http.push(performance.now() - started);
        status = res.status;
        const statements = opened.recorder.stop().filter((s) => !s.text.startsWith('EXPLAIN'));
        const planStarted = performance.now();
        for (const s of statements) await opened.db.query(`EXPLAIN ${s.text}`, s.params);
        plan.push(performance.now() - planStarted);
      }
      console.log(
        `${shape.padEnd(6)} ${String(n).padStart(6)}  ${median(http).toFixed(0).padStart(16)}  ${median(plan).toFixed(0).padStart(41)}  ${status}`,
      );
    }
  }
  await dir.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
