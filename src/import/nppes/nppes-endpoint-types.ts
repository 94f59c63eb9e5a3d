/**
 * NPPES endpoint types, keyed by code (the descriptions in the data differ from the CMS code-values
 * document: "Direct Messaging Address" vs "Direct Address"), as the directory's connection types,
 * and whether an endpoint fits its type.
 *
 * - DIRECT → endpoint-connection-type#direct-project, address written `mailto:<address>`;
 * - FHIR → endpoint-connection-type#hl7-fhir-rest;
 * - CONNECT → endpoint-connection-type#ihe-xcpd: a CONNECT gateway (the NwHIN/eHealth Exchange
 *   gateway) is entered by XCPD patient discovery, then XCA;
 * - SOAP → endpoint-connection-type#ihe-xcpd too: NPPES lists SOAP web services for exchange, which
 *   are IHE cross-community gateways; the NPPES code is kept on the Endpoint, so no meaning is lost;
 * - REST → NDH rest-non-fhir ("REST (not FHIR)");
 * - WEB, OTHERS → NDH rest-non-fhir as well: an http(s) URL that is neither FHIR nor SOAP; the NPPES
 *   code ("WEB"/"OTHERS") kept on the Endpoint says that nothing more is known.
 */
import type { Coding } from '@medplum/fhirtypes';
import { CONNECTION_TYPES } from '../hti1/hti1-normalize';

const NDH_CONNECTION_TYPES = 'http://hl7.org/fhir/us/ndh/CodeSystem/NdhEndpointConnectionTypeCS';

const DIRECT: Coding = { system: CONNECTION_TYPES, code: 'direct-project', display: 'Direct Project' };
const FHIR: Coding = { system: CONNECTION_TYPES, code: 'hl7-fhir-rest', display: 'HL7 FHIR' };
const XCPD: Coding = { system: CONNECTION_TYPES, code: 'ihe-xcpd', display: 'IHE XCPD' };
const REST: Coding = { system: NDH_CONNECTION_TYPES, code: 'rest-non-fhir', display: 'REST (not FHIR)' };

export const NPPES_ENDPOINT_TYPES: Readonly<Record<string, { connectionType: Coding; description: string }>> =
  {
    DIRECT: { connectionType: DIRECT, description: 'Direct Address' },
    FHIR: { connectionType: FHIR, description: 'FHIR URL' },
    CONNECT: { connectionType: XCPD, description: 'Connect URL' },
    SOAP: { connectionType: XCPD, description: 'SOAP WS URL' },
    REST: { connectionType: REST, description: 'RESTful WS URL' },
    WEB: { connectionType: REST, description: 'Website URL' },
    OTHERS: { connectionType: REST, description: 'Other URL' },
  };

const DIRECT_ADDRESS =
  /^[^\s@<>()",;:[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** What the endpoint looks like, for the report of a row whose endpoint does not fit its type. */
function looksLike(endpoint: string): string {
  if (endpoint === '') return 'empty';
  if (/^[\d\s()+.-]{7,}$/.test(endpoint)) return 'a phone number';
  if (DIRECT_ADDRESS.test(endpoint.replace(/^mailto:/i, ''))) return 'a Direct (mail) address';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) return 'a URL';
  if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(\/\S*)?$/.test(endpoint)) return 'a host name without a scheme';
  return 'neither a URL nor a Direct address';
}

/**
 * The Endpoint.address a row's endpoint becomes, or why it does not fit its type: a DIRECT endpoint
 * must be a Direct (mail) address, every other type an http(s) URL with a host. Nothing is guessed
 * (a host without a scheme is not given one).
 */
export function endpointAddress(type: string, endpoint: string): { address: string } | { misfit: string } {
  if (type === 'DIRECT') {
    const bare = endpoint.replace(/^mailto:/i, '');
    return DIRECT_ADDRESS.test(bare)
      ? { address: `mailto:${bare}` }
      : { misfit: `${type} endpoint '${endpoint}' is ${looksLike(endpoint)}, not a Direct address` };
  }
  if (/^https?:\/\/[^/?#\s@]+[^\s]*$/i.test(endpoint)) {
    try {
      const url = new URL(endpoint);
      if (url.hostname !== '') return { address: endpoint };
    } catch {
      // not a URL: reported below
    }
  }
  return { misfit: `${type} endpoint '${endpoint}' is ${looksLike(endpoint)}, not an http(s) URL` };
}
