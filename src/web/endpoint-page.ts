/**
 * `/endpoints/:id`: an Endpoint in words — its connection type, address, payloads, the extensions
 * that say which trust framework and IHE transaction it serves, and what capability discovery found
 * there when the directory has run it (an extension another part of the directory writes; the page
 * shows it when present and says so when not). Two FHIR searches: the Endpoint with `_include` of
 * its managing Organization, and its `_history`.
 */
import type { Endpoint, Extension, Organization } from '@medplum/fhirtypes';
import { entriesOf, type DirectoryReader } from './directory-reader';
import { extensionLabel, extensionValue, periodText, telecomList } from './fhir-values';
import { html, type SafeHtml } from './html';
import type { Page } from './layout';
import { conceptDisplay, connectionTypeDisplay, codingDisplay, identifierLabel } from './labels';
import { organizationPath } from './paths';
import { historyTable, matchOrThrow, metaFacts } from './resource-pages';
import { VERSIONS_SHOWN } from './organization-page';
import { CAPABILITY_STATEMENT_URL, SUMMARY_URL } from '../fhir/directory-owned';

/** Capability discovery's extension, whatever exact URL it settles on: any that names discovery. */
export function isDiscoveryExtension(extension: Extension): boolean {
  return /capabilit|discover/i.test(extension.url);
}

export async function endpointPage(reader: DirectoryReader, id: string): Promise<Page> {
  // Both at once (neither needs the other's answer); an unknown id then shows the read's 404 or 410.
  const [main, versions] = await Promise.all([
    reader.search(
      'Endpoint',
      new URLSearchParams([
        ['_id', id],
        ['_include', 'Endpoint:organization'],
      ]),
    ),
    reader.history('Endpoint', id, new URLSearchParams([['_count', String(VERSIONS_SHOWN)]])),
  ]);
  const endpoint = await matchOrThrow<Endpoint>(reader, main, 'Endpoint', id);
  const owner = entriesOf<Organization>(main, 'include', 'Organization')[0];
  const extensions = endpoint.extension ?? [];
  const name = endpoint.name ?? id;
  return {
    status: 200,
    title: name,
    body: html`<h1>${name}</h1>
      ${detailsHtml(endpoint, owner)}
      <h2>Extensions</h2>
      ${extensionsHtml(extensions.filter((e) => !isDiscoveryExtension(e)))}
      <h2>Capability discovery</h2>
      ${discoveryHtml(extensions.filter(isDiscoveryExtension))}
      <h2>History</h2>
      ${historyTable(versions, 'Endpoint', id)}
      <p>As FHIR: <a href="/fhir/Endpoint/${id}">/fhir/Endpoint/${id}</a></p>`,
  };
}

function detailsHtml(endpoint: Endpoint, owner: Organization | undefined): SafeHtml {
  const ct = endpoint.connectionType;
  const managing = endpoint.managingOrganization;
  return html`<dl class="facts">
    <dt>Connection type</dt>
    <dd>${connectionTypeDisplay(ct.code ?? '')} <span class="mono">(${ct.code})</span></dd>
    <dt>Status</dt>
    <dd><span class="tag${endpoint.status === 'active' ? '' : ' status-off'}">${endpoint.status}</span></dd>
    <dt>Address</dt>
    <dd class="mono">${endpoint.address}</dd>
    ${
      managing &&
      html`<dt>Managed by</dt>
        <dd>
          ${owner ? html`<a href="${organizationPath(owner.id ?? '')}">${owner.name ?? owner.id}</a>` : (managing.display ?? managing.reference)}
        </dd>`
    }
    <dt>Payload types</dt>
    <dd>
      ${
        (endpoint.payloadType ?? []).length === 0
          ? 'None listed'
          : html`<ul>
              ${(endpoint.payloadType ?? []).map((p) => html`<li>${conceptDisplay(p)}${p.coding?.[0]?.code && html` <span class="mono">(${p.coding[0].code})</span>`}</li>`)}
            </ul>`
      }
    </dd>
    ${
      endpoint.payloadMimeType &&
      endpoint.payloadMimeType.length > 0 &&
      html`<dt>Payload media types</dt>
        <dd class="mono">${endpoint.payloadMimeType.join(', ')}</dd>`
    }
    ${
      endpoint.period &&
      html`<dt>Period</dt>
        <dd>${periodText(endpoint.period)}</dd>`
    }
    ${(endpoint.identifier ?? []).map(
      (i) =>
        html`<dt>${identifierLabel(i)}</dt>
          <dd class="mono">${i.value}</dd>`,
    )}
    ${
      endpoint.contact &&
      endpoint.contact.length > 0 &&
      html`<dt>Contact</dt>
        <dd>${telecomList(endpoint.contact)}</dd>`
    }
    ${
      endpoint.header &&
      endpoint.header.length > 0 &&
      html`<dt>Headers</dt>
        <dd class="mono">${endpoint.header.join(', ')}</dd>`
    }
    ${metaFacts(endpoint.meta)}
  </dl>`;
}

function extensionsHtml(extensions: Extension[]): SafeHtml {
  if (extensions.length === 0) return html`<p>None.</p>`;
  return html`<table>
    <caption>
      What the endpoint's extensions say
    </caption>
    <thead>
      <tr>
        <th scope="col">Extension</th>
        <th scope="col">Value</th>
      </tr>
    </thead>
    <tbody>
      ${extensions.map(
        (e) =>
          html`<tr>
            <th scope="row">${extensionLabel(e.url)}</th>
            <td>${extensionValue(e)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The summary's parts in words, in the order the page lists them. */
const SUMMARY_LABELS: Readonly<Record<string, string>> = {
  lastChecked: 'Last checked',
  status: 'Status',
  downSince: 'Down since',
  availability: 'Availability (30 days)',
  medianResponseTime: 'Median response time (30 days)',
  error: 'Error',
  fhirVersion: 'FHIR version',
  supportedVersion: 'Versions ($versions)',
  softwareName: 'Software',
  softwareVersion: 'Software version',
  mimeType: 'MIME type',
  tlsVersion: 'TLS',
  certificateExpires: 'Certificate expires',
  smartCapability: 'SMART capabilities',
  udap: 'UDAP offered',
  supportedResource: 'Resources',
  supportedProfile: 'Profiles',
};

/** One summary part's value in words: availability as a percentage, a duration with its unit. */
function partText(part: Extension): string {
  if (part.url === 'availability' && part.valueDecimal !== undefined)
    return `${Math.round(part.valueDecimal * 100)}%`;
  if (part.valueQuantity) return `${part.valueQuantity.value ?? ''} ${part.valueQuantity.unit ?? ''}`.trim();
  if (part.valueBoolean !== undefined) return part.valueBoolean ? 'yes' : 'no';
  return (
    part.valueCode ??
    part.valueString ??
    part.valueDateTime ??
    part.valueCanonical ??
    (part.valueDecimal === undefined ? '' : String(part.valueDecimal))
  );
}

/** The directory's own summary (discovery-summary.ts): one labelled line per part, values joined. */
function summaryHtml(summary: Extension, statement: Extension | undefined): SafeHtml {
  const parts = summary.extension ?? [];
  const known = Object.keys(SUMMARY_LABELS).filter((name) => parts.some((p) => p.url === name));
  const reference = statement?.valueReference?.reference;
  return html`<dl class="facts">
    ${known.map(
      (name) =>
        html`<dt>${SUMMARY_LABELS[name] ?? name}</dt>
          <dd>
            ${parts
              .filter((p) => p.url === name)
              .map(partText)
              .join(', ')}
          </dd>`,
    )}
    ${
      reference
        ? html`<dt>CapabilityStatement</dt>
            <dd><a href="/fhir/${reference}">/fhir/${reference}</a></dd>`
        : html``
    }
  </dl>`;
}

function discoveryHtml(found: Extension[]): SafeHtml {
  if (found.length === 0)
    return html`<p>The directory has not recorded a capability discovery result for this endpoint.</p>`;
  const summary = found.find((e) => e.url === SUMMARY_URL);
  if (summary)
    return summaryHtml(
      summary,
      found.find((e) => e.url === CAPABILITY_STATEMENT_URL),
    );
  return html`${found.map(
    (e) =>
      html`<dl class="facts">
        ${(e.extension && e.extension.length > 0 ? e.extension : [e]).map(
          (part) =>
            html`<dt>${part.url}</dt>
              <dd>${part.valueCoding ? codingDisplay(part.valueCoding) : extensionValue(part)}</dd>`,
        )}
      </dl>`,
  )}`;
}
