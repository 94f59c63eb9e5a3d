'use strict';
/*
 * The search workload every bench tool drives (run.js, one-at-a-time.js, noisy-neighbour.js): the
 * queries a directory client really makes, with the concrete paths built from the values
 * generate.js wrote to queries.json, and what each path should find.
 */

const PAGE_SIZE = 20; // the server's default _count

// Query values: percent-encode, but keep ':' and '/' readable (both are legal in a query string).
const enc = (v) => encodeURIComponent(v).replace(/%3A/g, ':').replace(/%2F/g, '/');

/** The workload: each query has one or more concrete paths (used in turn) and what it should find. */
function workload(q) {
  const page = (n) => Math.min(n, PAGE_SIZE);
  return [
    {
      name: 'name-prefix',
      description: 'Organization name starts with a common word (string search, case-insensitive)',
      paths: [
        {
          path: `/Organization?name=${enc(q.namePrefix.value)}`,
          expect: { match: page(q.namePrefix.matches), total: q.namePrefix.matches },
        },
      ],
    },
    {
      name: 'npi',
      description: 'Organization by NPI identifier (token system|code), 100 different NPIs',
      paths: q.npi.values.map((v) => ({
        path: `/Organization?identifier=${enc(`${q.npi.system}|${v.npi}`)}`,
        expect: { match: 1, total: 1, ids: [v.id] },
      })),
    },
    {
      name: 'state-type',
      description: `Organizations in a state with a type (address-state=${q.stateType.state}&type=${q.stateType.type})`,
      paths: [
        {
          path: `/Organization?address-state=${enc(q.stateType.state)}&type=${enc(q.stateType.type)}`,
          expect: { match: page(q.stateType.matches), total: q.stateType.matches },
        },
      ],
    },
    {
      name: 'partof',
      description: 'Direct members of an implementer (reference search), 10 implementers',
      paths: q.partof.map((p) => ({
        path: `/Organization?partof=${enc(`Organization/${p.id}`)}`,
        expect: { match: page(p.matches), total: p.matches },
      })),
    },
    {
      name: 'include',
      description: 'Organizations by full name with their Endpoints (_include=Organization:endpoint)',
      paths: q.include.map((c) => ({
        path: `/Organization?name=${enc(c.name)}&_include=${enc('Organization:endpoint')}`,
        expect: {
          match: page(c.matches),
          total: c.matches,
          include: c.matches <= PAGE_SIZE ? c.included : undefined,
        },
      })),
    },
    {
      name: 'revinclude',
      description:
        'One Organization by _id with the Endpoints that point at it (_revinclude=Endpoint:organization)',
      paths: q.revinclude.map((r) => ({
        path: `/Organization?_id=${enc(r.id)}&_revinclude=${enc('Endpoint:organization')}`,
        expect: { match: 1, total: 1, include: r.included, ids: [r.id] },
      })),
    },
    {
      name: 'connection-type',
      description: `Endpoints by connection type and status (connection-type=${q.connectionType.code}&status=${q.connectionType.status}), either code system`,
      paths: [
        {
          path: `/Endpoint?connection-type=${enc(q.connectionType.code)}&status=${enc(q.connectionType.status)}`,
          expect: { match: page(q.connectionType.matches), total: q.connectionType.matches },
        },
      ],
    },
    {
      name: 'chained',
      description: `Endpoints whose managing Organization is in a state (organization.address-state=${q.chained.state})`,
      paths: [
        {
          path: `/Endpoint?organization.address-state=${enc(q.chained.state)}`,
          expect: { match: page(q.chained.matches), total: q.chained.matches },
        },
      ],
    },
    {
      name: 'read',
      description:
        'Read Organization/<id>, 200 different ids (not a search; cached like one, per type, so run both ways)',
      paths: q.read.ids.map((id) => ({ path: `/Organization/${id}`, expect: { read: id } })),
    },
    {
      name: 'history-since',
      description: 'System history since a recent instant, first page of 100 (_history?_since=…&_count=100)',
      paths: [], // filled in once the newest changes are known
    },
    {
      name: 'name-accent',
      description: 'Accent-insensitive name prefix: name=clinica finds "Clínica São José" and the like',
      paths: [
        {
          path: `/Organization?name=${enc(q.nameAccent.value)}`,
          expect: { match: page(q.nameAccent.matches), total: q.nameAccent.matches },
        },
      ],
    },
  ];
}

/** The lastModified of the 500th newest change: `_since` it gives several pages of 100. */
async function recentInstant(base, timeoutMs = 60000) {
  try {
    const res = await fetch(`${base}/_history?_count=500`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) {
      const bundle = await res.json();
      const entries = bundle.entry || [];
      const last = entries[entries.length - 1];
      const instant = last && last.response && last.response.lastModified;
      if (instant) return instant;
    }
  } catch {
    // fall through
  }
  return new Date(Date.now() - 3600 * 1000).toISOString();
}

/** Fills in the history-since query's path (the instant depends on what the store holds). */
async function addHistoryPath(queries, base, timeoutMs) {
  const history = queries.find((w) => w.name === 'history-since');
  if (!history) return;
  const since = await recentInstant(base, timeoutMs);
  history.since = since;
  history.paths = [{ path: `/_history?_since=${enc(since)}&_count=100`, expect: { history: 100 } }];
}

/** The workload's queries named in a comma-separated list (all when the list is empty). */
function selectQueries(q, only) {
  const names = (only || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const all = workload(q);
  const unknown = names.filter((n) => !all.some((w) => w.name === n));
  if (unknown.length > 0)
    throw new Error(
      `unknown query ${unknown.join(', ')}; the workload has ${all.map((w) => w.name).join(', ')}`,
    );
  return all.filter((w) => names.length === 0 || names.includes(w.name));
}

/** Whether a 2xx answer is what the query should find: 'ok', or what differed. */
function checkBody(body, expect) {
  if (expect.read !== undefined)
    return body.id === expect.read ? 'ok' : `read returned ${body.resourceType}/${body.id}`;
  if (body.resourceType !== 'Bundle') return `expected a Bundle, got ${body.resourceType}`;
  const entries = body.entry || [];
  if (expect.history !== undefined)
    return entries.length === expect.history
      ? 'ok'
      : `${entries.length} history entries, expected ${expect.history}`;
  const match = entries.filter((e) => e.search && e.search.mode === 'match');
  const include = entries.filter((e) => e.search && e.search.mode === 'include');
  const problems = [];
  if (match.length !== expect.match)
    problems.push(`${match.length} matches on page 1, expected ${expect.match}`);
  if (expect.include !== undefined && include.length !== expect.include)
    problems.push(`${include.length} included, expected ${expect.include}`);
  if (body.total !== undefined && expect.total !== undefined && body.total !== expect.total)
    problems.push(`total ${body.total}, expected ${expect.total}`);
  if (expect.ids) {
    const ids = match.map((e) => e.resource && e.resource.id);
    if (!expect.ids.every((id) => ids.includes(id)))
      problems.push(`expected ${expect.ids.join(', ')} among the matches`);
  }
  return problems.length === 0 ? 'ok' : problems.join('; ');
}

module.exports = { PAGE_SIZE, enc, workload, recentInstant, addHistoryPath, selectQueries, checkBody };
