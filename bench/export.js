#!/usr/bin/env node
/*
 * Bulk Data $export of the bench directory (what bench/load.js loaded from bench/generate.js), as a
 * follower reads it: kick-off, poll, then every NDJSON file downloaded over HTTP and parsed line by
 * line as it streams. Reports resources/s from kick-off to the last byte, the time to the manifest
 * (the job's counting pass) and the download rate, and the memory of this process, which runs the
 * server too: peak RSS (sampled every 20 ms) and, under `node --expose-gc`, the peak of the heap
 * after a full GC (sampled every 250 ms during the download): what the process holds, not garbage
 * it has yet to collect. The export never holds more than one page of a file in memory, so both
 * should stay near their values before the export whatever its size: compare the runs of one
 * invocation (`--type Organization,system`: 20,000 then 70,000 resources).
 *
 *   npm run build && node --expose-gc bench/export.js       PGlite in bench/.data/pglite (DATA_DIR)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node --expose-gc bench/export.js
 *
 * Options: --type T[,T…] (one export per item: a type-level export of T, or `system` for the
 * system-level one; default system), --repeat N (default 1), --fill: when the store
 * is empty, write bench/.data/*.ndjson (bench/generate.js) straight into the version tables, one
 * version each, in multi-row statements: seconds instead of the minutes bench/load.js takes on a
 * loaded machine. Those resources have no search index rows (searches and `_typeFilter` do not see
 * them); an export reads only the version history, so it reads them as it reads any.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { DEFAULT_DATA_DIR, storeOptions } = require('./lib/common');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const mb = (bytes) => Math.round(bytes / 1024 / 1024);

/**
 * Reads a response body as NDJSON, counting lines without keeping them: the first line of each file
 * is parsed (it must be a resource), the rest only counted, so the figure is the server's rate and
 * not this client's JSON.parse (which shares the process, and the machine's two cores, with it).
 */
async function countLines(response) {
  let lines = 0;
  let first = '';
  for await (const chunk of response.body) {
    if (lines === 0) first += Buffer.from(chunk).toString('utf8');
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
  }
  if (lines > 0 && !JSON.parse(first.slice(0, first.indexOf('\n'))).resourceType)
    throw new Error('not NDJSON');
  return lines;
}

/**
 * Samples this process's memory until stopped: peak RSS every 20 ms; under --expose-gc, the heap
 * used after a full GC every 250 ms, while `collecting` is on (the download).
 */
function memorySampler() {
  const before = { rss: process.memoryUsage().rss, heap: heapAfterGc() };
  const peak = { rss: before.rss, heap: before.heap };
  let collecting = false;
  const rss = setInterval(() => {
    peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
  }, 20);
  const heap = setInterval(() => {
    if (collecting && peak.heap !== undefined) peak.heap = Math.max(peak.heap, heapAfterGc());
  }, 250);
  return {
    collect(on) {
      collecting = on;
    },
    stop() {
      clearInterval(rss);
      clearInterval(heap);
      return { before, peak };
    },
  };
}

function heapAfterGc() {
  if (typeof global.gc !== 'function') return undefined;
  global.gc();
  return process.memoryUsage().heapUsed;
}

async function exportOnce(baseUrl, type, sampler) {
  const started = performance.now();
  const kick = await fetch(`${baseUrl}${type ? `/${type}` : ''}/$export`, {
    headers: { prefer: 'respond-async', accept: 'application/fhir+json' },
  });
  if (kick.status !== 202) throw new Error(`kick-off ${kick.status}: ${await kick.text()}`);
  const statusUrl = kick.headers.get('content-location');
  let manifest;
  while (!manifest) {
    const res = await fetch(statusUrl);
    if (res.status === 200) manifest = await res.json();
    else if (res.status === 202) await new Promise((resolve) => setTimeout(resolve, 50));
    else throw new Error(`status ${res.status}: ${await res.text()}`);
  }
  const counted = performance.now();
  sampler.collect(true);
  let lines = 0;
  for (const file of manifest.output) {
    const res = await fetch(file.url, { headers: { accept: 'application/fhir+ndjson' } });
    if (res.status !== 200) throw new Error(`${file.url}: ${res.status}`);
    const n = await countLines(res);
    if (n !== file.count) throw new Error(`${file.url}: ${n} lines, the manifest says ${file.count}`);
    lines += n;
  }
  const done = performance.now();
  sampler.collect(false);
  await fetch(statusUrl, { method: 'DELETE' });
  return { lines, totalMs: done - started, countMs: counted - started, downloadMs: done - counted, manifest };
}

const FILL_SQL = `WITH v AS (
    SELECT nextval('change_seq') AS seq, t, i, c FROM unnest($1::text[], $2::text[], $3::text[]) AS u(t, i, c)
  ), h AS (
    INSERT INTO resource_history (seq, resource_type, id, version_id, last_updated, method, content)
    SELECT seq, t, i, 1, now(), 'POST', c FROM v
  )
  INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, seq, content)
  SELECT t, i, 1, now(), false, seq, c FROM v`;

async function fill(db, store) {
  if ((await store.count()) > 0) return;
  const started = performance.now();
  const lastUpdated = new Date().toISOString();
  let n = 0;
  for (const name of ['organizations.ndjson', 'endpoints.ndjson']) {
    const lines = readline.createInterface({ input: fs.createReadStream(path.join(DEFAULT_DATA_DIR, name)) });
    let batch = [[], [], []];
    const flush = async () => {
      if (batch[0].length === 0) return;
      await db.transaction((tx) => tx.query(FILL_SQL, batch));
      n += batch[0].length;
      batch = [[], [], []];
    };
    for await (const line of lines) {
      if (!line) continue;
      const resource = JSON.parse(line);
      resource.meta = { ...resource.meta, versionId: '1', lastUpdated };
      batch[0].push(resource.resourceType);
      batch[1].push(resource.id);
      batch[2].push(JSON.stringify(resource));
      if (batch[0].length === 2000) await flush();
    }
    await flush();
  }
  console.log(`filled ${n} resources in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function main() {
  const runs = option('--type', 'system')
    .split(',')
    .map((t) => (t === 'system' ? undefined : t));
  const repeat = Number(option('--repeat', '1'));
  const { db, store } = await openBenchStore(storeOptions());
  if (process.argv.includes('--fill')) await fill(db, store);
  const directory = await startBenchDirectory(store);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  try {
    const idle = process.memoryUsage().rss;
    const gc = typeof global.gc === 'function';
    console.log(
      `store: ${store.stats().pool ? 'PostgreSQL' : 'PGlite'}; RSS before: ${mb(idle)} MB` +
        (gc
          ? `; heap after GC: ${mb(heapAfterGc())} MB`
          : ' (run with node --expose-gc for the heap after GC)'),
    );
    for (let i = 0; i < repeat; i += 1)
      for (const type of runs) {
        const memory = memorySampler();
        const run = await exportOnce(directory.baseUrl, type, memory);
        const { before, peak: top } = memory.stop();
        const perType = run.manifest.output.map((o) => `${o.type} ${o.count}`).join(', ');
        console.log(
          `export ${type ?? 'system'} ${i + 1}: ${run.lines} resources (${perType}) in ${(run.totalMs / 1000).toFixed(2)} s = ` +
            `${Math.round(run.lines / (run.totalMs / 1000))} resources/s; manifest after ` +
            `${(run.countMs / 1000).toFixed(2)} s, download ${Math.round(run.lines / (run.downloadMs / 1000))} resources/s; ` +
            `RSS ${mb(before.rss)} → peak ${mb(top.rss)} MB` +
            (gc ? `; heap after GC ${mb(before.heap)} → peak ${mb(top.heap)} MB during the download` : ''),
        );
      }
    console.log(`peak RSS: ${mb(peak)} MB (${mb(peak - idle)} MB over the RSS before the first export)`);
  } finally {
    clearInterval(sampler);
    await directory.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
