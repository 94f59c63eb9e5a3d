/**
 * What the Organization and Endpoint pages share: finding the one match, the facts every stored
 * resource has, the versions table.
 */
import type { Bundle, Meta, Resource } from '@medplum/fhirtypes';
import { entriesOf, type DirectoryReader } from './directory-reader';
import { html, type SafeHtml } from './html';

/**
 * The `_id` search's match; none means the resource is unknown or deleted, and a read then throws
 * the API's own 404 or 410 for the page to show.
 */
export async function matchOrThrow<T extends Resource>(
  reader: DirectoryReader,
  bundle: Bundle,
  type: T['resourceType'],
  id: string,
): Promise<T> {
  const match = entriesOf<T>(bundle, 'match', type)[0];
  if (match) return match;
  return (await reader.read(type, id)) as T;
}

/** The last facts of a page's list: where the resource came from (meta.source), when it last changed. */
export function metaFacts(meta: Meta | undefined): SafeHtml {
  return html`${
      meta?.source &&
      html`<dt>Source</dt>
        <dd class="mono">${meta.source}</dd>`
    }
    <dt>Last updated</dt>
    <dd>${meta?.lastUpdated}</dd>`;
}

/** A resource's versions, newest first, each linked to its FHIR vread. */
export function historyTable(bundle: Bundle, type: string, id: string): SafeHtml {
  const entries = (bundle.entry ?? []).filter((e) => e.response);
  const more = bundle.link?.some((l) => l.relation === 'next');
  return html`<table>
      <caption>
        Versions, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">When</th>
          <th scope="col">Change</th>
          <th scope="col">Source</th>
        </tr>
      </thead>
      <tbody>
        ${entries.map((e) => {
          const version = e.response?.etag?.replace(/^W\/"(.*)"$/, '$1') ?? '';
          // Version 1 is the creation whether it came by POST or by PUT with a client id.
          const action = e.request?.method === 'DELETE' ? 'Deleted' : version === '1' ? 'Created' : 'Updated';
          const vread = `/fhir/${type}/${id}/_history/${version}`;
          return html`<tr>
            <td>${e.resource ? html`<a href="${vread}">${version}</a>` : version}</td>
            <td>${e.response?.lastModified}</td>
            <td>${action}</td>
            <td class="mono">${e.resource?.meta?.source}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    ${more && html`<p>Older versions: <a href="/fhir/${type}/${id}/_history">the FHIR history</a>.</p>`}`;
}
