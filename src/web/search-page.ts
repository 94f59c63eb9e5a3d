/**
 * `/`: search the directory's Organizations by name, city/state, NPI, HCID, connection type and
 * status. One FHIR search per page (`GET /fhir/Organization?...&_include=Organization:endpoint&
 * _include=Organization:partof&_total=accurate`): the connection types and parents shown in the
 * rows come from the includes, never from a query per row. Paging follows the search's keyset
 * cursor; the page's own URL carries the form and the cursors, so every page is a shareable link.
 *
 * Sorting by name means ordering every match before the first 20: on a large directory a broad
 * chained filter (`endpoint.connection-type=ihe-xcpd` matches a third of the Organizations) is over
 * SEARCH_MAX_COST. A choice the form offers must never be refused, so the page then asks again in the
 * directory's own order (`order=directory` in its links, so paging stays in that order) and says so;
 * should even that be over the limit, it says what to narrow, as a 200 page with the form.
 */
import type { Bundle, Endpoint, Organization, OperationOutcome } from '@medplum/fhirtypes';
import { invalid, isFhirError } from '../fhir/errors';
import { entriesOf, nextCursor, type DirectoryReader } from './directory-reader';
import { html, type SafeHtml } from './html';
import type { Page } from './layout';
import { connectionTypeDisplay, isHcid, NPI_SYSTEM, SEARCHABLE_CONNECTION_TYPES } from './labels';
import { endpointPath, organizationPath, placeOf } from './paths';

export const PAGE_SIZE = 20;
/** Cursors of earlier pages kept in the URL for `Previous`; more is 400 (the URL would be ~10 KB). */
export const MAX_TRAIL = 100;

/** The form's fields, as the page's query string names them. */
export interface SearchForm {
  name: string;
  city: string;
  state: string;
  npi: string;
  hcid: string;
  connection: string;
  status: '' | 'active' | 'inactive';
}

const FIELDS = ['name', 'city', 'state', 'npi', 'hcid', 'connection', 'status'] as const;

/** `name`: sorted by name (the default); `directory`: the directory's own order (by id), cheaper. */
export type ResultOrder = 'name' | 'directory';

interface Paging {
  order: ResultOrder;
  /** The cursor (`_page`) of this page; undefined on the first. */
  page?: string;
  /** The cursors of the pages between the first and this one, oldest first. */
  trail: string[];
}

const CURSOR = /^[A-Za-z0-9_-]{1,2000}$/;

/** The page's query string, checked: a value no form could send is 400 naming the field. */
export function parseSearchForm(query: URLSearchParams): { form: SearchForm; paging: Paging } {
  const value = (name: string): string => (query.get(name) ?? '').trim();
  const status = value('status');
  if (status !== '' && status !== 'active' && status !== 'inactive')
    throw invalid(`status must be active, inactive or empty, not '${status}'`, 'status');
  const connection = value('connection');
  if (connection !== '' && !SEARCHABLE_CONNECTION_TYPES.some((t) => t.code === connection))
    throw invalid(
      `connection must be one of ${SEARCHABLE_CONNECTION_TYPES.map((t) => t.code).join(', ')}, not '${connection}'`,
      'connection',
    );
  const npi = value('npi');
  if (npi !== '' && !/^\d{10}$/.test(npi)) throw invalid(`An NPI is 10 digits, not '${npi}'`, 'npi');
  const hcid = value('hcid');
  if (hcid !== '' && !/^(urn:oid:)?[0-2](\.\d+)+$/.test(hcid))
    throw invalid(`An HCID is an OID such as 2.16.840.1.113883.3.99901, not '${hcid}'`, 'hcid');
  const state = value('state');
  if (state !== '' && !/^[A-Za-z]{2}$/.test(state))
    throw invalid(`state is a two-letter USPS code, not '${state}'`, 'state');

  const order = value('order');
  if (order !== '' && order !== 'name' && order !== 'directory')
    throw invalid(`order must be name, directory or empty, not '${order}'`, 'order');
  const page = value('page');
  const trailText = value('trail');
  const trail = trailText === '' ? [] : trailText.split('.');
  if (page !== '' && !CURSOR.test(page)) throw invalid('page is not a page of this search', 'page');
  if (trail.some((c) => !CURSOR.test(c)))
    throw invalid('trail is not a list of pages of this search', 'trail');
  if (trail.length > MAX_TRAIL)
    throw invalid(`trail holds more than ${MAX_TRAIL} pages: start the search again`, 'trail');
  if (page === '' && trail.length > 0) throw invalid('trail without page', 'trail');
  const form: SearchForm = {
    name: value('name'),
    city: value('city'),
    state: state.toUpperCase(),
    npi,
    hcid,
    connection,
    status,
  };
  return {
    form,
    paging: { order: order === 'directory' ? 'directory' : 'name', ...(page ? { page } : {}), trail },
  };
}

/** The FHIR search the form means. */
export function fhirQuery(
  form: SearchForm,
  page: string | undefined,
  order: ResultOrder = 'name',
): URLSearchParams {
  const q = new URLSearchParams();
  if (form.name) q.set('name', form.name);
  if (form.city) q.set('address-city', form.city);
  if (form.state) q.set('address-state', form.state);
  if (form.npi) q.set('identifier', `${NPI_SYSTEM}|${form.npi}`);
  if (form.hcid) q.set('hcid', form.hcid.startsWith('urn:oid:') ? form.hcid : `urn:oid:${form.hcid}`);
  if (form.connection) q.set('endpoint.connection-type', form.connection);
  if (form.status) q.set('active', form.status === 'active' ? 'true' : 'false');
  if (order === 'name') q.set('_sort', 'name');
  q.set('_count', String(PAGE_SIZE));
  q.set('_total', 'accurate');
  q.append('_include', 'Organization:endpoint');
  q.append('_include', 'Organization:partof');
  if (page) q.set('_page', page);
  return q;
}

/** The web page's own URL for the form at a page. */
function searchUrl(form: SearchForm, paging: Paging): string {
  const q = new URLSearchParams();
  for (const field of FIELDS) if (form[field]) q.set(field, form[field]);
  if (paging.order === 'directory') q.set('order', 'directory');
  if (paging.page) q.set('page', paging.page);
  if (paging.trail.length > 0) q.set('trail', paging.trail.join('.'));
  const text = q.toString();
  return text ? `/?${text}` : '/';
}

export async function searchPage(reader: DirectoryReader, query: URLSearchParams): Promise<Page> {
  const { form, paging } = parseSearchForm(query);
  // A form sends its empty fields too (`?name=&city=…`): the shareable URL leaves them out.
  if ([...query.values()].some((v) => v.trim() === '')) {
    return { status: 303, title: 'See other', body: html``, redirect: searchUrl(form, paging) };
  }
  const found = await searchWithin(reader, form, paging);
  if (!found) return tooBroadPage(form);
  const { bundle, order } = found;
  const shown: Paging = { ...paging, order };
  const organizations = entriesOf<Organization>(bundle, 'match', 'Organization');
  const included = [
    ...entriesOf<Endpoint>(bundle, 'include', 'Endpoint'),
    ...entriesOf<Organization>(bundle, 'include', 'Organization'),
  ];
  const byReference = new Map(included.map((r) => [`${r.resourceType}/${r.id ?? ''}`, r]));
  const offset = (paging.trail.length + (paging.page ? 1 : 0)) * PAGE_SIZE;
  const next = nextCursor(bundle);
  return {
    status: 200,
    title: 'Search the directory',
    body: html`<h1>Search the directory</h1>
      <p>
        Organizations and the endpoints where they exchange health information.
        <a href="/about">What is this?</a>
      </p>
      ${searchFormHtml(form)}
      <section aria-labelledby="results-heading">
        <h2 id="results-heading">Results</h2>
        ${countLine(bundle, organizations.length, offset)} ${warnings(bundle)}
        ${order === 'directory' && paging.order === 'name' ? html`<p class="problem">${DIRECTORY_ORDER_NOTE}</p>` : ''}
        ${organizations.length > 0 && resultsTable(organizations, byReference, order)}
        ${pagingNav(form, shown, next)}
      </section>`,
  };
}

const DIRECTORY_ORDER_NOTE =
  'Too many organizations match to sort them by name: they are listed in the directory’s order. ' +
  'Add a name, city or state to sort them by name.';

/** Whether a FHIR search was refused for its cost (SEARCH_MAX_COST), not for what it asked. */
function isTooCostly(err: unknown): boolean {
  return isFhirError(err) && err.status === 400 && err.outcome.issue?.[0]?.code === 'too-costly';
}

/**
 * The search in the order asked, then, when sorting by name is over the cost limit, in the
 * directory's order; undefined when that is over the limit too.
 */
async function searchWithin(
  reader: DirectoryReader,
  form: SearchForm,
  paging: Paging,
): Promise<{ bundle: Bundle; order: ResultOrder } | undefined> {
  const orders: ResultOrder[] =
    paging.order === 'name' && !paging.page ? ['name', 'directory'] : [paging.order];
  for (const order of orders) {
    try {
      return { bundle: await reader.search('Organization', fhirQuery(form, paging.page, order)), order };
    } catch (err) {
      if (!isTooCostly(err)) throw err;
    }
  }
  return undefined;
}

/** A search the form allows but the directory will not run at its size: what to narrow. */
function tooBroadPage(form: SearchForm): Page {
  return {
    status: 200,
    title: 'Search the directory',
    body: html`<h1>Search the directory</h1>
      ${searchFormHtml(form)}
      <section aria-labelledby="results-heading">
        <h2 id="results-heading">Results</h2>
        <p class="problem" role="status">
          This search matches too many organizations to list them here. Add a name, city, state, NPI or HCID
          to narrow it.
        </p>
      </section>`,
  };
}

function searchFormHtml(form: SearchForm): SafeHtml {
  const text = (name: keyof SearchForm, label: string, extra?: SafeHtml): SafeHtml =>
    html`<div>
      <label for="f-${name}">${label}</label
      ><input id="f-${name}" name="${name}" type="text" value="${form[name]}" ${extra} />
    </div>`;
  return html`<form class="search" method="get" action="/" role="search" aria-label="Organizations">
    ${text('name', 'Name')} ${text('city', 'City', html`autocomplete="address-level2"`)}
    ${text('state', 'State (2 letters)', html`autocomplete="address-level1" maxlength="2"`)}
    ${text('npi', 'NPI', html`inputmode="numeric" maxlength="10"`)} ${text('hcid', 'HCID (OID)')}
    <div>
      <label for="f-connection">Connection type</label
      ><select id="f-connection" name="connection">
        <option value="">Any</option>
        ${SEARCHABLE_CONNECTION_TYPES.map((t) => html`<option value="${t.code}" ${form.connection === t.code ? html` selected` : ''}>${t.display}</option>`)}
      </select>
    </div>
    <div>
      <label for="f-status">Status</label
      ><select id="f-status" name="status">
        <option value="">Any</option>
        <option value="active" ${form.status === 'active' ? html` selected` : ''}>Active</option>
        <option value="inactive" ${form.status === 'inactive' ? html` selected` : ''}>Inactive</option>
      </select>
    </div>
    <div class="actions"><button type="submit">Search</button><a href="/">Clear</a></div>
  </form>`;
}

function countLine(bundle: Bundle, shown: number, offset: number): SafeHtml {
  if (shown === 0) return html`<p class="count" role="status">No organization matches.</p>`;
  const range = `${offset + 1}–${offset + shown}`;
  if (bundle.total === undefined) return html`<p class="count" role="status">Showing ${range}.</p>`;
  const noun = bundle.total === 1 ? 'organization matches' : 'organizations match';
  return html`<p class="count" role="status">
    ${bundle.total.toLocaleString('en-US')} ${noun}; showing ${range}.
  </p>`;
}

/** The search's warnings (a total too costly to count, includes cut short), as the API says them. */
function warnings(bundle: Bundle): SafeHtml {
  const outcomes = (bundle.entry ?? [])
    .filter((e) => e.search?.mode === 'outcome' || e.resource?.resourceType === 'OperationOutcome')
    .flatMap((e) => (e.resource as OperationOutcome).issue ?? []);
  return html`${outcomes.map((i) => html`<p class="problem">${i.diagnostics ?? i.code}</p>`)}`;
}

function resultsTable(
  organizations: Organization[],
  byReference: Map<string, Endpoint | Organization>,
  order: ResultOrder,
): SafeHtml {
  const rows = organizations.map((org) => {
    const endpoints = (org.endpoint ?? [])
      .map((ref) => byReference.get(ref.reference ?? ''))
      .filter((r): r is Endpoint => r?.resourceType === 'Endpoint');
    const types = [...new Set(endpoints.map((e) => e.connectionType.code ?? ''))].filter(Boolean);
    const parentRef = org.partOf?.reference ?? '';
    const parent = byReference.get(parentRef) as Organization | undefined;
    const npi = org.identifier?.find((i) => i.system === NPI_SYSTEM)?.value;
    const hcid = org.identifier?.find(isHcid)?.value;
    const active = org.active !== false;
    return html`<tr>
      <td data-label="Name"><a href="${organizationPath(org.id ?? '')}">${org.name ?? org.id}</a></td>
      <td data-label="Location">${placeOf(org.address?.[0])}</td>
      <td data-label="NPI" class="mono">${npi}</td>
      <td data-label="HCID" class="mono">${hcid}</td>
      <td data-label="Part of">
        ${parent ? html`<a href="${organizationPath(parent.id ?? '')}">${parent.name ?? parent.id}</a>` : ''}
      </td>
      <td data-label="Connection types">
        ${types.map((c) => html`<span class="tag">${connectionTypeDisplay(c)}</span>`)}${endpoints.length === 1 ? html` <a href="${endpointPath(endpoints[0]?.id ?? '')}" aria-label="The endpoint of ${org.name ?? org.id}">endpoint</a>` : ''}
      </td>
      <td data-label="Status">
        <span class="tag${active ? '' : ' status-inactive'}">${active ? 'Active' : 'Inactive'}</span>
      </td>
    </tr>`;
  });
  return html`<table class="results">
    <caption>
      ${order === 'name' ? 'Organizations, by name' : 'Organizations, in the directory’s order'}
    </caption>
    <thead>
      <tr>
        <th scope="col">Name</th>
        <th scope="col">Location</th>
        <th scope="col">NPI</th>
        <th scope="col">HCID</th>
        <th scope="col">Part of</th>
        <th scope="col">Connection types</th>
        <th scope="col">Status</th>
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

function pagingNav(form: SearchForm, paging: Paging, next: string | undefined): SafeHtml | '' {
  if (!paging.page && !next) return '';
  const previous: Paging | undefined = paging.page
    ? paging.trail.length > 0
      ? {
          order: paging.order,
          page: paging.trail[paging.trail.length - 1] as string,
          trail: paging.trail.slice(0, -1),
        }
      : { order: paging.order, trail: [] }
    : undefined;
  const following: Paging | undefined = next
    ? { order: paging.order, page: next, trail: paging.page ? [...paging.trail, paging.page] : [] }
    : undefined;
  return html`<nav class="pages" aria-label="Result pages">
    <ul>
      ${paging.page ? html`<li><a href="${searchUrl(form, { order: paging.order, trail: [] })}">First page</a></li>` : ''}
      ${previous ? html`<li><a rel="prev" href="${searchUrl(form, previous)}">Previous page</a></li>` : ''}
      ${following ? html`<li><a rel="next" href="${searchUrl(form, following)}">Next page</a></li>` : ''}
    </ul>
  </nav>`;
}
