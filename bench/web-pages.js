#!/usr/bin/env node
/*
 * How fast the web directory's pages render on the bench directory (bench/generate.js + load.js;
 * 70,000 resources at the default sizes), one request at a time, uncached (SEARCH_CACHE_MB=0, so
 * every page does its FHIR searches), and how many SQL statements each page sends: a fixed number,
 * whatever the size of the tree or the result page, is the evidence of no query per row.
 *
 *   npm run build && node bench/web-pages.js                  PGlite in bench/.data/pglite
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench node bench/web-pages.js
 *
 * Environment: BENCH_REQUESTS (20 per page, after 2 warm-up requests), BENCH_CACHE_MB (0: the
 * response cache's size, SEARCH_CACHE_MB; over 0 the pages and searches are answered from it after
 * the warm-up, the statements counted are the first request's), DATA_DIR / DATABASE_URL as
 * bench/load.js. For each page it also times the FHIR searches the page is built on, sent one after
 * the other (the sum: a page sends its independent searches together), so the page's own cost
 * (parsing the Bundles, rendering the HTML) reads as a ratio.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { dataDirFrom, storeOptions, percentile } = require('./lib/common');
const { openBenchStore, startBenchDirectory } = require('./lib/bench-directory');

const REQUESTS = Number(process.env.BENCH_REQUESTS || 20);
/** The response cache (SEARCH_CACHE_MB); 0, the default, measures every page's searches uncached. */
const CACHE_MB = Number(process.env.BENCH_CACHE_MB || 0);

async function timeGet(url) {
  const started = process.hrtime.bigint();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** p50 and p95 of getting `urls` one after the other (one URL: that request). */
async function p50(urls) {
  const timeAll = async () => {
    let total = 0;
    for (const url of [urls].flat()) total += await timeGet(url);
    return total;
  };
  for (let i = 0; i < 2; i++) await timeAll();
  const times = [];
  for (let i = 0; i < REQUESTS; i++) times.push(await timeAll());
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95) };
}

async function main() {
  const dataDir = dataDirFrom(process.argv.slice(2));
  const q = JSON.parse(fs.readFileSync(path.join(dataDir, 'queries.json'), 'utf8'));
  const store = storeOptions();
  const opened = await openBenchStore(store, { record: true });
  const dir = await startBenchDirectory(opened.store, { searchCacheMb: CACHE_MB });
  try {
    const origin = new URL(dir.baseUrl).origin;
    const fhir = dir.baseUrl;
    const bigTree = [...q.partof].sort((a, b) => b.matches - a.matches)[0];
    const endpointId = (await (await fetch(`${fhir}/Endpoint?_count=1&connection-type=ihe-xcpd`)).json())
      .entry[0].resource.id;
    const include =
      '&_sort=name&_count=20&_total=accurate&_include=Organization:endpoint&_include=Organization:partof';
    // The Organization page's searches: itself with its endpoints and parents, its first 50 children
    // by name with their count, its last 20 versions.
    const organizationSearches = (id) => [
      `/Organization?_id=${id}&_include=Organization:endpoint&_include:iterate=Organization:partof`,
      `/Organization?partof=Organization/${id}&_sort=name&_count=50&_total=accurate`,
      `/Organization/${id}/_history?_count=20`,
    ];
    const pages = [
      ['search: first page, no filter', '/', `/Organization?${include.slice(1)}`],
      [
        `search: name=${q.namePrefix.value}`,
        `/?name=${q.namePrefix.value}`,
        `/Organization?name=${q.namePrefix.value}${include}`,
      ],
      [
        `search: state=${q.stateType.state}`,
        `/?state=${q.stateType.state}`,
        `/Organization?address-state=${q.stateType.state}${include}`,
      ],
      // Sorted by name, this chained search is over SEARCH_MAX_COST on the 70,000-resource directory
      // (400 too-costly): the page then lists in the directory's order, the search timed here.
      [
        'search: connection=ihe-xcpd',
        '/?connection=ihe-xcpd',
        `/Organization?endpoint.connection-type=ihe-xcpd${include.replace('_sort=name&', '')}`,
      ],
      [
        `organization: an implementer (${bigTree.matches} children)`,
        `/organizations/${bigTree.id}`,
        organizationSearches(bigTree.id),
      ],
      ['organization: a member', `/organizations/${q.read.ids[0]}`, organizationSearches(q.read.ids[0])],
      [
        'endpoint',
        `/endpoints/${endpointId}`,
        [
          `/Endpoint?_id=${endpointId}&_include=Endpoint:organization`,
          `/Endpoint/${endpointId}/_history?_count=20`,
        ],
      ],
      ['about', '/about', ['/Organization?_summary=count', '/Endpoint?_summary=count']],
    ];
    const cached = CACHE_MB > 0 ? `response cache ${CACHE_MB} MB` : 'uncached';
    console.log(`store: ${store.label}; ${REQUESTS} requests per page, one at a time, ${cached}`);
    console.log(
      'page | page p50 ms | page p95 ms | SQL statements | FHIR searches | their p50 ms | page / searches',
    );
    for (const [name, pagePath, fhirPath] of pages) {
      opened.recorder.start();
      await timeGet(origin + pagePath);
      const statements = opened.recorder.stop().length;
      const page = await p50([origin + pagePath]);
      const search = await p50([fhirPath].flat().map((p) => fhir + p));
      console.log(
        `${name} | ${page.p50.toFixed(1)} | ${page.p95.toFixed(1)} | ${statements} | ${[fhirPath].flat().length} | ${search.p50.toFixed(1)} | ${(page.p50 / search.p50).toFixed(2)}`,
      );
    }
  } finally {
    await dir.close();
    await opened.db.close().catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
