/**
 * US Core Organization addresses carry USPS state codes and ISO 3166 country codes. Published lists
 * write full names ("Texas", "United States of America", "USA"; Oracle Health even lists "Puerto
 * Rico" as a country). A name with exactly one code is replaced by it and recorded; anything else is
 * left as it is.
 */
import type { Normalization } from '../import-report';

const STATES: Readonly<Record<string, string>> = {
  alabama: 'AL',
  alaska: 'AK',
  arizona: 'AZ',
  arkansas: 'AR',
  california: 'CA',
  colorado: 'CO',
  connecticut: 'CT',
  delaware: 'DE',
  'district of columbia': 'DC',
  florida: 'FL',
  georgia: 'GA',
  hawaii: 'HI',
  idaho: 'ID',
  illinois: 'IL',
  indiana: 'IN',
  iowa: 'IA',
  kansas: 'KS',
  kentucky: 'KY',
  louisiana: 'LA',
  maine: 'ME',
  maryland: 'MD',
  massachusetts: 'MA',
  michigan: 'MI',
  minnesota: 'MN',
  mississippi: 'MS',
  missouri: 'MO',
  montana: 'MT',
  nebraska: 'NE',
  nevada: 'NV',
  'new hampshire': 'NH',
  'new jersey': 'NJ',
  'new mexico': 'NM',
  'new york': 'NY',
  'north carolina': 'NC',
  'north dakota': 'ND',
  ohio: 'OH',
  oklahoma: 'OK',
  oregon: 'OR',
  pennsylvania: 'PA',
  'rhode island': 'RI',
  'south carolina': 'SC',
  'south dakota': 'SD',
  tennessee: 'TN',
  texas: 'TX',
  utah: 'UT',
  vermont: 'VT',
  virginia: 'VA',
  washington: 'WA',
  'west virginia': 'WV',
  wisconsin: 'WI',
  wyoming: 'WY',
  'puerto rico': 'PR',
  guam: 'GU',
  'virgin islands': 'VI',
  'u.s. virgin islands': 'VI',
  'american samoa': 'AS',
  'northern mariana islands': 'MP',
};

/** ISO 3166-1 alpha-2 for the country names seen in published lists (not all of ISO 3166: a name not here is left, and validation or the report says so). */
const COUNTRIES: Readonly<Record<string, string>> = {
  'united states of america': 'US',
  'united states': 'US',
  usa: 'US',
  'u.s.a.': 'US',
  'puerto rico': 'PR',
  // Seen in Oracle Health's 2023 list (practices abroad).
  'cayman islands': 'KY',
  aruba: 'AW',
  bermuda: 'BM',
  'united arab emirates': 'AE',
  chile: 'CL',
  canada: 'CA',
  mexico: 'MX',
};

interface AddressLike {
  state?: string;
  country?: string;
}

/** Rewrites `<type>.address[i].state` and `.country` in place; each change recorded. */
export function normalizeAddressCodes(
  addresses: AddressLike[] | undefined,
  path: string,
  notes: Normalization[],
): void {
  (addresses ?? []).forEach((address, index) => {
    const at = `${path}[${index}]`;
    const state = address.state === undefined ? undefined : STATES[address.state.trim().toLowerCase()];
    if (state !== undefined && state !== address.state) {
      notes.push({
        kind: 'state-code',
        expression: `${at}.state`,
        detail: `'${address.state}' -> '${state}'`,
      });
      address.state = state;
    }
    const country =
      address.country === undefined ? undefined : COUNTRIES[address.country.trim().toLowerCase()];
    if (country !== undefined && country !== address.country) {
      notes.push({
        kind: 'country-code',
        expression: `${at}.country`,
        detail: `'${address.country}' -> '${country}'`,
      });
      address.country = country;
    }
  });
}
