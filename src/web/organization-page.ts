/**
 * `/organizations/:id`: an Organization, its identifiers, where it sits in its hierarchy (the
 * partOf chain up, its children down), its Endpoints grouped by connection type, and its versions.
 * Three FHIR searches whatever the size of the tree, sent together: the Organization with `_include`
 * of its endpoints and `_include:iterate` of its parents, its children (`partof=`, the first
 * CHILDREN_SHOWN by name), its `_history` (the last VERSIONS_SHOWN).
 */
import type { Bundle, Endpoint, Organization } from '@medplum/fhirtypes';
import { entriesOf, type DirectoryReader } from './directory-reader';
import { addressText, periodText, telecomList } from './fhir-values';
import { html, type SafeHtml } from './html';
import type { Page } from './layout';
import { conceptDisplay, connectionTypeDisplay, identifierLabel } from './labels';
import { endpointPath, organizationPath, placeOf } from './paths';
import { historyTable, matchOrThrow, metaFacts } from './resource-pages';

/** Children listed on the page; more are counted and reachable through the FHIR search it links. */
export const CHILDREN_SHOWN = 50;
export const VERSIONS_SHOWN = 20;

export async function organizationPage(reader: DirectoryReader, id: string): Promise<Page> {
  // The three searches at once: none needs another's answer (on PostgreSQL each takes its own
  // connection, so the page costs about its slowest search, not their sum). An unknown id finds no
  // children and no versions, and the page then shows the read's 404 or 410.
  const [main, children, versions] = await Promise.all([
    reader.search(
      'Organization',
      new URLSearchParams([
        ['_id', id],
        ['_include', 'Organization:endpoint'],
        ['_include:iterate', 'Organization:partof'],
      ]),
    ),
    reader.search(
      'Organization',
      new URLSearchParams([
        ['partof', `Organization/${id}`],
        ['_sort', 'name'],
        ['_count', String(CHILDREN_SHOWN)],
        ['_total', 'accurate'],
      ]),
    ),
    reader.history('Organization', id, new URLSearchParams([['_count', String(VERSIONS_SHOWN)]])),
  ]);
  const org = await matchOrThrow<Organization>(reader, main, 'Organization', id);
  const endpoints = entriesOf<Endpoint>(main, 'include', 'Endpoint');
  const name = org.name ?? id;
  return {
    status: 200,
    title: name,
    body: html`<h1>${name}</h1>
      ${detailsHtml(org)}
      <h2>Identifiers</h2>
      ${identifiersHtml(org)}
      <h2>Hierarchy</h2>
      ${hierarchyHtml(org, entriesOf<Organization>(main, 'include', 'Organization'), children, id)}
      <h2>Endpoints</h2>
      ${endpointsHtml(endpoints)}
      <h2>History</h2>
      ${historyTable(versions, 'Organization', id)}
      <p>As FHIR: <a href="/fhir/Organization/${id}">/fhir/Organization/${id}</a></p>`,
  };
}

function detailsHtml(org: Organization): SafeHtml {
  const active = org.active !== false;
  return html`<dl class="facts">
    <dt>Status</dt>
    <dd><span class="tag${active ? '' : ' status-inactive'}">${active ? 'Active' : 'Inactive'}</span></dd>
    ${
      org.alias &&
      org.alias.length > 0 &&
      html`<dt>Also known as</dt>
        <dd>${org.alias.join(', ')}</dd>`
    }
    ${
      org.type &&
      org.type.length > 0 &&
      html`<dt>Type</dt>
        <dd>${org.type.map((t) => html`<span class="tag">${conceptDisplay(t)}</span>`)}</dd>`
    }
    ${(org.address ?? []).map(
      (a) =>
        html`<dt>Address</dt>
          <dd>${addressText(a)}</dd>`,
    )}
    ${
      org.telecom &&
      org.telecom.length > 0 &&
      html`<dt>Contact</dt>
        <dd>${telecomList(org.telecom)}</dd>`
    }
    ${(org.contact ?? []).map(
      (c) =>
        html`<dt>${conceptDisplay(c.purpose) || 'Contact person'}</dt>
          <dd>
            ${c.name?.text ?? [c.name?.given?.join(' '), c.name?.family].filter(Boolean).join(' ')}${telecomList(
              c.telecom,
            )}
          </dd>`,
    )}
    ${metaFacts(org.meta)}
  </dl>`;
}

function identifiersHtml(org: Organization): SafeHtml {
  const identifiers = org.identifier ?? [];
  if (identifiers.length === 0) return html`<p>None recorded.</p>`;
  return html`<table>
    <caption>
      Identifiers of ${org.name}
    </caption>
    <thead>
      <tr>
        <th scope="col">Kind</th>
        <th scope="col">Value</th>
        <th scope="col">System</th>
      </tr>
    </thead>
    <tbody>
      ${identifiers.map(
        (i) =>
          html`<tr>
            <th scope="row">${identifierLabel(i)}</th>
            <td class="mono">${i.value}</td>
            <td class="mono">${i.system}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The chain of parents from the top down (a cycle or a parent not included ends it). */
function parentsOf(org: Organization, included: Organization[]): Organization[] {
  const byRef = new Map(included.map((o) => [`Organization/${o.id ?? ''}`, o]));
  const chain: Organization[] = [];
  const seen = new Set([`Organization/${org.id ?? ''}`]);
  let ref = org.partOf?.reference;
  while (ref && !seen.has(ref)) {
    const parent = byRef.get(ref);
    if (!parent) break;
    seen.add(ref);
    chain.unshift(parent);
    ref = parent.partOf?.reference;
  }
  return chain;
}

function hierarchyHtml(org: Organization, included: Organization[], children: Bundle, id: string): SafeHtml {
  const parents = parentsOf(org, included);
  const kids = entriesOf<Organization>(children, 'match', 'Organization');
  const total = children.total ?? kids.length;
  return html`<h3>Part of</h3>
    ${
      parents.length === 0
        ? html`<p>Top level: part of no other organization.</p>`
        : html`<ol class="hierarchy" aria-label="Parents, from the top">
            ${parents.map(
              (p) => html`<li><a href="${organizationPath(p.id ?? '')}">${p.name ?? p.id}</a></li>`,
            )}
            <li aria-current="page">${org.name ?? id}</li>
          </ol>`
    }
    <h3>Organizations under it (${total})</h3>
    ${
      kids.length === 0
        ? html`<p>None.</p>`
        : html`<ul>
              ${kids.map(
                (k) =>
                  html`<li>
                    <a href="${organizationPath(k.id ?? '')}">${k.name ?? k.id}</a>
                    <span>${placeOf(k.address?.[0])}</span>
                  </li>`,
              )}
            </ul>
            ${total > kids.length && html`<p>Showing ${kids.length} of ${total}; all of them: <a href="/fhir/Organization?partof=Organization/${id}">the FHIR search</a>.</p>`}`
    }`;
}

function endpointsHtml(endpoints: Endpoint[]): SafeHtml {
  if (endpoints.length === 0) return html`<p>No endpoints listed.</p>`;
  const groups = new Map<string, Endpoint[]>();
  for (const e of endpoints) {
    const code = e.connectionType.code ?? '';
    groups.set(code, [...(groups.get(code) ?? []), e]);
  }
  const ordered = [...groups.entries()].sort(([a], [b]) =>
    connectionTypeDisplay(a).localeCompare(connectionTypeDisplay(b)),
  );
  return html`${ordered.map(
    ([code, list]) =>
      html`<h3>${connectionTypeDisplay(code)} (${list.length})</h3>
        <table>
          <caption>
            ${connectionTypeDisplay(code)} endpoints
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Address</th>
              <th scope="col">Status</th>
              <th scope="col">Payload</th>
              <th scope="col">Period</th>
            </tr>
          </thead>
          <tbody>
            ${list.map(
              (e) =>
                html`<tr>
                  <td><a href="${endpointPath(e.id ?? '')}">${e.name ?? e.id}</a></td>
                  <td class="mono">${e.address}</td>
                  <td><span class="tag${e.status === 'active' ? '' : ' status-off'}">${e.status}</span></td>
                  <td>
                    ${(e.payloadType ?? []).map((p) => html`<span class="tag">${conceptDisplay(p)}</span>`)}
                  </td>
                  <td>${periodText(e.period)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`,
  )}`;
}
