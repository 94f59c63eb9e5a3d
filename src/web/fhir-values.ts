/**
 * FHIR datatypes in words for the pages: addresses, telecoms, periods, extensions. Each returns
 * escaped markup or plain text; none reads anything but its argument.
 */
import type { Address, ContactPoint, Extension, Period } from '@medplum/fhirtypes';
import { html, type SafeHtml } from './html';
import { codingDisplay, conceptDisplay } from './labels';

export function addressText(address: Address): string {
  const street = (address.line ?? []).join(', ');
  const place = [address.city, [address.state, address.postalCode].filter(Boolean).join(' ')]
    .filter(Boolean)
    .join(', ');
  return [address.text, street, place, address.country].filter(Boolean).join(' · ') || '';
}

export function telecomHtml(telecom: ContactPoint): SafeHtml {
  const value = telecom.value ?? '';
  const label = telecom.system ?? 'contact';
  if (telecom.system === 'url' && /^https?:\/\//i.test(value))
    return html`${label}: <a href="${value}" rel="nofollow noopener">${value}</a>`;
  if (telecom.system === 'email') return html`${label}: <a href="mailto:${value}">${value}</a>`;
  return html`${label}: ${value}`;
}

/** Telecoms as a list, each in words; nothing when there are none. */
export function telecomList(telecoms: readonly ContactPoint[] | undefined): SafeHtml | false {
  return (
    telecoms !== undefined &&
    telecoms.length > 0 &&
    html`<ul>
      ${telecoms.map((t) => html`<li>${telecomHtml(t)}</li>`)}
    </ul>`
  );
}

export function periodText(period: Period | undefined): string {
  if (!period) return '';
  return `${period.start ?? '…'} to ${period.end ?? '…'}`;
}

/** The words for well-known extensions; any other is shown by its URL. */
const EXTENSION_LABELS: Readonly<Record<string, string>> = {
  'http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-trustFramework': 'Trust framework',
  'http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-endpoint-environment-type': 'Environment',
  'http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-endpoint-access-control-mechanism':
    'Access control mechanism',
  'https://sequoiaproject.org/fhir/sphd/StructureDefinition/Transaction': 'IHE transaction',
  'https://sequoiaproject.org/fhir/sphd/StructureDefinition/Version': 'Transaction version',
  'https://sequoiaproject.org/fhir/sphd/StructureDefinition/PurposesOfUse': 'Purpose of use',
  'https://profiles.ihe.net/ITI/mCSD/StructureDefinition/ihe-endpointspecifictype': 'IHE endpoint type',
};

export function extensionLabel(url: string): string {
  return EXTENSION_LABELS[url] ?? url;
}

/** An extension's value in words; a complex one lists its parts (`trustFrameworkType: Carequality`). */
export function extensionValue(extension: Extension): SafeHtml {
  if (extension.extension && extension.extension.length > 0) {
    return html`<ul>
      ${extension.extension.map((part) => html`<li>${part.url}: ${extensionValue(part)}</li>`)}
    </ul>`;
  }
  const e = extension as Extension & Record<string, unknown>;
  if (e.valueCodeableConcept) return html`${conceptDisplay(extension.valueCodeableConcept)}`;
  if (extension.valueCoding) return html`${codingDisplay(extension.valueCoding)}`;
  if (extension.valueReference)
    return html`${extension.valueReference.display ?? extension.valueReference.reference}`;
  if (extension.valuePeriod) return html`${periodText(extension.valuePeriod)}`;
  const primitive = Object.entries(e).find(
    ([key, value]) => key.startsWith('value') && ['string', 'number', 'boolean'].includes(typeof value),
  );
  return html`${primitive ? String(primitive[1]) : ''}`;
}
