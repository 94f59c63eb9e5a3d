/**
 * Validation of the NPPES import's Organizations and Endpoints by shape (README, "The NPPES endpoint
 * file"). The mapper (nppes-units.ts) builds them from a handful of shapes: two resources that differ
 * only in their free text (names, address lines, descriptions), their ids and references, their
 * Endpoint address past its scheme and their NPI are judged alike by every check the validator
 * makes, provided each of those values is one the checks cannot tell apart from a stand-in
 * (its *witness*). So each resource is reduced to its **skeleton** — the resource with each such
 * value replaced by its witness — and the skeleton is validated (the full validator: base R4,
 * required bindings, the directory's profiles), once per distinct skeleton; the verdict stands for
 * every resource of that skeleton. A value that is not plainly in its class (blank, a control
 * character, an id or reference of another form, an address of another scheme) stays as it is in the
 * skeleton, so it is judged itself. A skeleton found invalid sends the resource itself to the
 * validator, whose issues (with the real values) are reported: nothing invalid is stored, and every
 * rejection says what the full validation says.
 *
 * Why the values replaced cannot change a verdict (each claim is about the checks as they are; the
 * profiles' checks are pinned by REVIEWED below):
 * - base R4 (@medplum/core validateResource): a primitive is checked by its JSON type, non-blank,
 *   1 MB and the regular expression of its FHIR type (string, id, url); each class below is inside
 *   those, and so is its witness. The base invariants of Organization, Endpoint and the datatypes
 *   used (ele-1, ext-1, dom-*, org-1..3) read presence, `use`, `contained`, `text`, never these values.
 * - our checks: empty values (no value of a class is blank), inherited names (keys, kept), required
 *   bindings (R4's required bindings bind none of these elements: status, use, type, mime types).
 * - the profiles: every binding, fixed and pattern value and invariant they add (the list printed by
 *   profileFacts, reviewed): Organization.identifier values are read by us-core-16/17 (10 digits,
 *   the NPI check digit: the NPI class is exactly those, isValidNpi) and by us-core-18/19 and
 *   dir-org-1 (other forms: false for every NPI, witness included); Organization.address.state is
 *   bound (extensible, USPS): kept as it is; Endpoint.address is read by dir-ep-1 (https) and
 *   dir-ep-2 (mailto:): the class keeps the scheme; Endpoint.managingOrganization.reference by
 *   dir-ep-4: the class is `Organization/<id>`, which it accepts. Codes and systems are kept as they
 *   are (bindings, slices and patterns read them), and the structure (keys, array lengths) too.
 *
 * Should the profiles change what they check (another binding, invariant, pattern or type),
 * profileFacts no longer hashes to REVIEWED and every resource is validated itself, as before this
 * shortcut (and the test pinning REVIEWED fails, asking for the review above to be made again).
 */
import { createHash } from 'node:crypto';
import type { ElementDefinition, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { FhirContext } from '../../fhir/context';
import { isValidNpi } from '../quality-findings';
import type { ImportIssue } from '../import-report';
import { validationIssues } from '../validation-issues';
import { NPPES_EXTENSION } from './nppes-units';

/** A value's witness when the checks cannot tell it from the witness; undefined: keep the value. */
type Hole = (value: string) => string | undefined;

/** FHIR string (medplum's regular expression), not blank, under 1 MB. */
const STRING = /^[\r\n\t\u0020-\uFFFF]+$/;
const text: Hole = (v) => (v.length <= 65536 && v.trim() !== '' && STRING.test(v) ? 'x' : undefined);
const id: Hole = (v) => (/^[A-Za-z0-9\-.]{1,64}$/.test(v) ? 'x' : undefined);
const reference =
  (type: string): Hole =>
  (v) =>
    v.startsWith(`${type}/`) && id(v.slice(type.length + 1)) ? `${type}/x` : undefined;
/** A valid NPI: ten digits whose check digit holds (us-core-16, us-core-17). */
const WITNESS_NPI = '1234567893';
const npi: Hole = (v) => (isValidNpi(v) ? WITNESS_NPI : undefined);
/** An Endpoint address: no whitespace (url), and its scheme kept (dir-ep-1, dir-ep-2); others kept. */
const endpointAddress: Hole = (v) =>
  /\s/.test(v) || v.length > 65536
    ? undefined
    : v.startsWith('mailto:')
      ? 'mailto:x'
      : v.startsWith('https://')
        ? 'https://x'
        : undefined;

/** Holes by path (no indexes); `~` marks the inside of the NPPES extension. */
const HOLES: ReadonlyMap<string, Hole> = new Map([
  ['Organization.id', id],
  ['Organization.name', text],
  ['Organization.identifier.value', npi],
  ['Organization.address.line', text],
  ['Organization.address.city', text],
  ['Organization.address.postalCode', text],
  ['Organization.endpoint.reference', reference('Endpoint')],
  ['Endpoint.id', id],
  ['Endpoint.address', endpointAddress],
  ['Endpoint.managingOrganization.reference', reference('Organization')],
  ['Endpoint.name', text],
  ['Endpoint.payloadType.text', text],
  ['Endpoint.payloadType.coding.display', text],
  ['~.extension.valueString', text],
  ['~.extension.valueCoding.display', text],
  ['~.extension.valueAddress.line', text],
  ['~.extension.valueAddress.city', text],
  ['~.extension.valueAddress.postalCode', text],
]);

/** `resource` with each value of a hole that is plainly in its class replaced by the witness. */
export function skeletonOf(resource: Resource): unknown {
  return copy(resource, resource.resourceType);
}

function copy(value: unknown, path: string): unknown {
  if (typeof value === 'string') return HOLES.get(path)?.(value) ?? value;
  if (Array.isArray(value)) return value.map((item) => copy(item, path));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  // Inside the NPPES extension (Endpoint.extension with its url): paths continue from `~`.
  const inner =
    path === 'Endpoint.extension' && object.url === NPPES_EXTENSION ? '~' : path.startsWith('~') ? path : '';
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) out[key] = copy(object[key], `${inner || path}.${key}`);
  return out;
}

/**
 * What the profiles check that a value could answer differently: each element's types, invariants,
 * bindings, fixed and pattern values. Hashed, compared with REVIEWED.
 */
export function profileFacts(profiles: Iterable<StructureDefinition>): string {
  const facts = [...profiles]
    .sort((a, b) => a.url.localeCompare(b.url))
    .map((sd) => ({
      url: sd.url,
      elements: (sd.snapshot?.element ?? []).map((e: ElementDefinition) => ({
        id: e.id,
        types: (e.type ?? []).map((t) => t.code),
        constraints: (e.constraint ?? []).map((c) => [c.key, c.severity, c.expression]),
        binding: e.binding && [e.binding.strength, e.binding.valueSet],
        values: Object.entries(e).filter(([k]) => /^(fixed|pattern)/.test(k)),
      })),
    }));
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex');
}

/** profileFacts of the Organization and Endpoint profiles the review above was made against. */
export const REVIEWED = '91948c4d3cb892d77a6e97afbd4240e2f22b7976a865cad4879d2830cff4f6e5';

export interface ShapeValidator {
  /** The validator's issues for a resource built by nppes-units.ts (none: valid). */
  validate(resource: Resource): ImportIssue[];
  /** Whether skeletons are used (false: the profiles changed since REVIEWED; each resource is validated itself). */
  readonly byShape: boolean;
  /** Validations run (skeletons and resources), for the bench. */
  readonly validations: number;
}

/** Verdicts kept: distinct skeletons are a few thousand in a 500,000-row file. */
const MAX_SHAPES = 20000;

export function shapeValidator(
  ctx: Pick<FhirContext, 'validator' | 'profiles' | 'enforceProfiles'>,
): ShapeValidator {
  const profiles = ['Organization', 'Endpoint'].flatMap((t) => ctx.profiles.byType.get(t) ?? []);
  const byShape = !ctx.enforceProfiles || profileFacts(profiles) === REVIEWED;
  const valid = new Set<string>();
  /** Skeletons found invalid: their resources are validated themselves, without the skeleton again. */
  const invalid = new Set<string>();
  let validations = 0;
  const full = (resource: Resource): ImportIssue[] => {
    validations += 1;
    return validationIssues(ctx, resource);
  };
  return {
    byShape,
    get validations() {
      return validations;
    },
    validate(resource) {
      if (!byShape) return full(resource);
      const skeleton = skeletonOf(resource) as Resource;
      const key = JSON.stringify(skeleton);
      if (valid.has(key)) return [];
      if (invalid.has(key) || full(skeleton).length > 0) {
        if (invalid.size >= MAX_SHAPES) invalid.clear();
        invalid.add(key);
        return full(resource);
      }
      if (valid.size >= MAX_SHAPES) valid.clear();
      valid.add(key);
      return [];
    },
  };
}
