/**
 * ONC Lantern's 13 EndpointSources lists, read from ../shared/fhir/real-endpoints/lantern-prod-resources
 * when present, planned without a database. Expected numbers were counted with jq: records, distinct
 * (URL, OrganizationName) pairs (one Organization and one Endpoint each; the rest repeat a pair), and
 * distinct pairs with an empty OrganizationName. No record has an NPIID; Cerner's and eClinicalWorks'
 * have ZIP codes. Planning rejects nothing; on writing, validation rejects an Organization without a
 * name (US Core requires one: NextGen's two records), with its Endpoint.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadR4Definitions } from '../../fhir/definitions';
import { planHti1 } from '../hti1/plan-hti1';
import { summarizeFindings } from '../quality-findings';
import { readImportDocument } from '../read-import-file';
import { lanternItems } from './lantern-items';

const LISTS = join(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'fhir',
  'real-endpoints',
  'lantern-prod-resources',
);
const LIST = { name: 'lantern', system: 'urn:fhir-directory:source:lantern', matchByName: false };

/** [file, records, distinct URL+name pairs, records with no OrganizationName] */
const EXPECTED: Array<[string, number, number, number]> = [
  ['Altera_Digital_Health_Inc_EndpointSources.json', 1510, 1121, 10],
  ['Cerner_Corporation_EndpointSources.json', 3305, 3305, 0],
  ['Epic_Systems_Corporation_1_EndpointSources.json', 477, 477, 0],
  ['Epic_Systems_Corporation_EndpointSources.json', 957, 957, 0],
  ['Greenway_Health_LLC_EndpointSources.json', 632, 632, 0],
  ['Medical_Information_Technology_Inc_MEDITECH_1_EndpointSources.json', 930, 920, 0],
  ['Medical_Information_Technology_Inc_MEDITECH_EndpointSources.json', 448, 446, 0],
  ['NextGen_Healthcare_EndpointSources.json', 2, 2, 2],
  ['Practice_Fusion_EndpointSources.json', 4754, 4754, 0],
  ['Veradigm_EndpointSources.json', 3344, 3344, 0],
  ['athenahealth_Inc_EndpointSources.json', 17136, 17037, 0],
  ['eClinicalWorks_LLC_EndpointSources.json', 2541, 2541, 0],
];

(existsSync(LISTS) ? describe : describe.skip)('Lantern EndpointSources lists', () => {
  beforeAll(() => loadR4Definitions());

  it.each(EXPECTED)(
    '%s: %i records, %i Organizations each with its Endpoint',
    async (file, records, pairs, unnamed) => {
      const { lantern } = await readImportDocument(join(LISTS, file));
      expect(lantern).toHaveLength(records);
      const { items, findings } = lanternItems(lantern ?? []);
      const plan = planHti1(items, LIST, undefined, false);
      expect(plan.rejected).toHaveLength(0);
      expect(plan.units.reduce((n, u) => n + u.organizations.length, 0)).toBe(pairs);
      expect(plan.units.reduce((n, u) => n + u.endpoints.length, 0)).toBe(pairs);
      const kinds = Object.fromEntries(summarizeFindings(findings).map((s) => [s.kind, s.count]));
      expect(kinds['duplicate-id'] ?? 0).toBe(records - pairs);
      expect(kinds['organization-name-missing'] ?? 0).toBe(unnamed);
    },
  );
});
