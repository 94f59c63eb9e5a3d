/** `/about`: the directory for newcomers — what it holds (counted by FHIR), how to ask it in FHIR. */
import type { DirectoryReader } from './directory-reader';
import { html } from './html';
import type { Page } from './layout';

const COUNTED = ['Organization', 'Endpoint'] as const;

export async function aboutPage(reader: DirectoryReader, fhirBase: string): Promise<Page> {
  const counts = await Promise.all(
    COUNTED.map(
      async (type) => (await reader.search(type, new URLSearchParams([['_summary', 'count']]))).total,
    ),
  );
  const count = (i: number): string => (counts[i] === undefined ? 'many' : counts[i].toLocaleString('en-US'));
  const example = (path: string) =>
    html`<li>
      <a href="${fhirBase}${path}"><code>GET ${fhirBase}${path}</code></a>
    </li>`;
  return {
    status: 200,
    title: 'About this directory',
    body: html`<h1>About this directory</h1>
      <p>
        This is a directory of the organizations in a health-information exchange network and the
        <em>endpoints</em> where they can be reached: IHE gateways (XCPD patient discovery, XCA query and
        retrieve, XDR push), FHIR servers and Direct secure-messaging addresses.
      </p>
      <h2>What it holds</h2>
      <ul>
        <li>
          ${count(0)} organizations (FHIR <code>Organization</code>), in hierarchies: an implementer, its
          members, their sites;
        </li>
        <li>
          ${count(1)} endpoints (FHIR <code>Endpoint</code>), each with its connection type, address, payloads
          and trust framework.
        </li>
      </ul>
      <p>
        Each participant manages its own entries; every change is kept as a version, so each page shows its
        history.
      </p>
      <h2>Ask it with FHIR</h2>
      <p>
        Everything these pages show comes from the FHIR R4 API at <code>${fhirBase}</code>, which answers
        <code>application/fhir+json</code>. Reads and searches need no account unless the operator says
        otherwise. Some examples:
      </p>
      <ul>
        ${example('/Organization?name=valley&_include=Organization:endpoint')}
        ${example('/Organization?address-state=WA&_count=20')}
        ${example('/Endpoint?connection-type=ihe-xcpd&status=active')}
        ${example('/Organization?endpoint.connection-type=hl7-fhir-rest')} ${example('/metadata')}
      </ul>
      <h2>API documentation</h2>
      <p>
        The whole HTTP API is described in OpenAPI: <a href="/docs">browse it in the API docs</a>, or fetch
        <a href="/openapi.json">/openapi.json</a>. The server's FHIR CapabilityStatement is at
        <a href="${fhirBase}/metadata">${fhirBase}/metadata</a>.
      </p>`,
  };
}
