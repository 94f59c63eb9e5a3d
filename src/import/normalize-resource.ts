/**
 * The fixes an import applies to every resource before validating it, each one recorded with the
 * FHIRPath of its element. Only what has one reading is fixed:
 *
 * - a single value where the element is an array is wrapped (`"payloadMimeType": "application/fhir+json"`),
 *   a one-item array where the element is single is unwrapped;
 * - empty strings, objects, arrays and nulls are dropped (FHIR JSON has no empty values);
 * - a dateTime or instant written loosely (`2021-10-06 00:00:00`, no seconds, `+0500`, no time zone) is
 *   rewritten in FHIR's format; a missing time zone is taken as UTC;
 * - a reference to a contained resource written without `#` gets it;
 * - Endpoint.payloadMimeType: the legacy DSTU2 names `application/json+fhir` and `application/xml+fhir`
 *   become `application/fhir+json` and `application/fhir+xml`, repeats removed;
 * - Endpoint.address: surrounding whitespace trimmed, scheme and host lower-cased (both are
 *   case-insensitive, and the address is what re-imports match Endpoints by).
 *
 * What cannot be fixed is left for the validator, or reported by `importIssues`.
 */
import { tryGetDataType, type InternalSchemaElement, type InternalTypeSchema } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { isObject } from '../fhir/json-value';
import type { ImportIssue, Normalization, NormalizationKind } from './import-report';

type Json = string | number | boolean | null | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}

const LEGACY_MIME_TYPES: Readonly<Record<string, string>> = {
  'application/json+fhir': 'application/fhir+json',
  'application/xml+fhir': 'application/fhir+xml',
};

const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const INSTANT =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
/** A date with a time, loosely: space or T, optional seconds and fraction, zone optional and colon-less. */
const LOOSE_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

export interface NormalizedResult {
  resource: Resource;
  normalizations: Normalization[];
}

export function normalizeResource(input: Resource): NormalizedResult {
  const notes: Normalization[] = [];
  const note = (kind: NormalizationKind, expression: string, detail: string): void => {
    notes.push({ kind, expression, detail });
  };
  const source = JSON.parse(JSON.stringify(input)) as JsonObject;
  const walked = walkObject(source, input.resourceType, input.resourceType, note) ?? {};
  const resource = { ...walked, resourceType: input.resourceType } as JsonObject;
  fixContainedReferences(resource, note);
  if (input.resourceType === 'Endpoint') {
    fixMimeTypes(resource, note);
    fixAddress(resource, note);
  }
  return { resource: resource as unknown as Resource, normalizations: notes };
}

type Note = (kind: NormalizationKind, expression: string, detail: string) => void;

/** The element a JSON property names, and the type of its value (choice elements by their suffix). */
function elementFor(
  schema: InternalTypeSchema,
  property: string,
): { element: InternalSchemaElement; type: string | undefined } | undefined {
  const direct = schema.elements[property];
  if (direct) return { element: direct, type: direct.type.length === 1 ? direct.type[0]?.code : undefined };
  for (const [name, element] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) continue;
    const base = name.slice(0, -3);
    if (!property.startsWith(base)) continue;
    const suffix = property.slice(base.length);
    const type = element.type.find((t) => t.code.charAt(0).toUpperCase() + t.code.slice(1) === suffix);
    if (type) return { element, type: type.code };
  }
  return undefined;
}

function walkObject(value: JsonObject, typeName: string, path: string, note: Note): JsonObject | undefined {
  const schema = tryGetDataType(typeName);
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'resourceType') {
      result[key] = child;
      continue;
    }
    const childPath = `${path}.${key}`;
    const found = schema && !key.startsWith('_') ? elementFor(schema, key) : undefined;
    let current: Json = child;
    if (found?.element.isArray && !Array.isArray(current) && current !== null) {
      note('single-value-array', childPath, `a single ${found.type ?? 'value'} wrapped in an array`);
      current = [current];
    } else if (found && !found.element.isArray && Array.isArray(current) && current.length === 1) {
      note(
        'single-item-array',
        childPath,
        `a one-item array unwrapped: ${key} holds one ${found.type ?? 'value'}`,
      );
      current = current[0] as Json;
    }
    const kept = Array.isArray(current)
      ? walkArray(current, found?.type, childPath, note)
      : walkValue(current, found?.type, childPath, note);
    if (kept !== undefined) result[key] = kept;
  }
  return Object.keys(result).some((k) => k !== 'resourceType') ? result : undefined;
}

function walkArray(items: Json[], type: string | undefined, path: string, note: Note): Json[] | undefined {
  if (items.length === 0) {
    note('empty-value', path, 'empty array dropped');
    return undefined;
  }
  const kept: Json[] = [];
  items.forEach((item, index) => {
    const value = walkValue(item, type, `${path}[${index}]`, note);
    if (value !== undefined) kept.push(value);
  });
  if (kept.length === 0) {
    note('empty-value', path, 'array left empty by the values dropped from it: dropped');
    return undefined;
  }
  return kept;
}

function walkValue(value: Json, type: string | undefined, path: string, note: Note): Json | undefined {
  if (value === null) {
    note('empty-value', path, 'null dropped');
    return undefined;
  }
  if (typeof value === 'string') {
    if (value.trim() === '') {
      note('empty-value', path, `${value === '' ? 'empty' : 'blank'} string dropped`);
      return undefined;
    }
    if (type === 'dateTime' || type === 'instant') return fixTimestamp(value, type, path, note);
    return value;
  }
  if (Array.isArray(value)) return walkArray(value, undefined, path, note);
  if (!isObject(value)) return value;
  if (Object.keys(value).length === 0) {
    note('empty-value', path, 'empty object dropped');
    return undefined;
  }
  // A contained resource (or Bundle.entry.resource) is walked as the type its resourceType names.
  const typeName =
    type === 'Resource' && typeof value.resourceType === 'string' ? value.resourceType : (type ?? '');
  const walked = walkObject(value, typeName, path, note);
  if (walked === undefined)
    note('empty-value', path, 'object left empty by the values dropped from it: dropped');
  return walked;
}

function fixTimestamp(value: string, type: 'dateTime' | 'instant', path: string, note: Note): string {
  if ((type === 'instant' ? INSTANT : DATE_TIME).test(value)) return value;
  const m = LOOSE_TIMESTAMP.exec(value.trim());
  if (!m) return value;
  const [, year, month, day, hour, minute, second, fraction, zone] = m;
  let offset: string;
  if (zone === undefined) offset = 'Z';
  else if (zone.toUpperCase() === 'Z') offset = 'Z';
  else {
    const digits = zone.slice(1).replace(':', '');
    offset = `${zone[0]}${digits.slice(0, 2)}:${digits.length > 2 ? digits.slice(2) : '00'}`;
  }
  const fixed = `${year}-${month}-${day}T${hour}:${minute}:${second ?? '00'}${fraction ?? ''}${offset}`;
  // Only real dates: 2021-02-30 stays as it was, for the validator to reject.
  const date = new Date(`${year}-${month}-${day}T00:00:00Z`);
  const real =
    !Number.isNaN(date.getTime()) &&
    date.getUTCFullYear() === Number(year) &&
    date.getUTCMonth() + 1 === Number(month) &&
    date.getUTCDate() === Number(day);
  if (!real || !INSTANT.test(fixed)) return value;
  note(
    'timestamp',
    path,
    `'${value}' -> '${fixed}'${zone === undefined ? ' (no time zone: taken as UTC)' : ''}`,
  );
  return fixed;
}

/** FHIR references.html#contained: `"reference": "abc"` naming a contained resource means `#abc`. */
function fixContainedReferences(resource: JsonObject, note: Note): void {
  const contained = Array.isArray(resource.contained) ? resource.contained : [];
  const ids = new Set(
    contained.flatMap((c) => (isObject(c) && typeof c.id === 'string' && c.id !== '' ? [c.id] : [])),
  );
  if (ids.size === 0) return;
  const visit = (value: Json, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, `${path}[${index}]`));
      return;
    }
    if (!isObject(value)) return;
    const reference = value.reference;
    if (typeof reference === 'string' && ids.has(reference)) {
      value.reference = `#${reference}`;
      note('contained-reference', path, `'${reference}' names a contained resource: written '#${reference}'`);
    }
    for (const [key, child] of Object.entries(value)) if (key !== 'contained') visit(child, `${path}.${key}`);
  };
  const type = typeof resource.resourceType === 'string' ? resource.resourceType : 'Resource';
  for (const [key, child] of Object.entries(resource))
    if (key !== 'contained') visit(child, `${type}.${key}`);
}

function fixMimeTypes(resource: JsonObject, note: Note): void {
  const types = resource.payloadMimeType;
  if (!Array.isArray(types)) return;
  const kept: Json[] = [];
  types.forEach((value, index) => {
    const path = `Endpoint.payloadMimeType[${index}]`;
    const modern = typeof value === 'string' ? LEGACY_MIME_TYPES[value.trim().toLowerCase()] : undefined;
    if (typeof value === 'string' && modern !== undefined) {
      // Epic lists both names of each type: the legacy one goes, the R4 one stays where it is.
      if (types.includes(modern) || kept.includes(modern)) {
        note('legacy-mime-type', path, `'${value}' dropped: its R4 name '${modern}' is listed too`);
      } else {
        note('legacy-mime-type', path, `'${value}' -> '${modern}'`);
        kept.push(modern);
      }
    } else if (kept.includes(value)) {
      note('duplicate-mime-type', path, `${JSON.stringify(value)} listed twice: the repeat removed`);
    } else kept.push(value);
  });
  resource.payloadMimeType = kept;
}

function fixAddress(resource: JsonObject, note: Note): void {
  const address = resource.address;
  if (typeof address !== 'string') return;
  const trimmed = address.trim();
  // scheme://[userinfo@]host[:port]: the scheme and host are case-insensitive (RFC 3986 §3.1, §3.2.2).
  const fixed = trimmed.replace(
    /^([A-Za-z][A-Za-z0-9+.-]*):\/\/((?:[^/?#@]*@)?)([^/?#]*)/,
    (_all, scheme: string, userinfo: string, host: string) =>
      `${scheme.toLowerCase()}://${userinfo}${host.toLowerCase()}`,
  );
  if (fixed === address) return;
  resource.address = fixed;
  note('address', 'Endpoint.address', `'${address}' -> '${fixed}'`);
}

/**
 * What an import cannot load and the base R4 validator lets through: an Endpoint whose address is
 * not an absolute URL, or whose connectionType has no code (nothing then says whether it is FHIR,
 * IHE or Direct).
 */
export function importIssues(resource: Resource): ImportIssue[] {
  if (resource.resourceType !== 'Endpoint') return [];
  const issues: ImportIssue[] = [];
  const address: unknown = resource.address;
  if (address === undefined) issues.push({ expression: 'Endpoint.address', message: 'missing' });
  else if (typeof address !== 'string' || !isAbsoluteUrl(address))
    issues.push({
      expression: 'Endpoint.address',
      message: `${JSON.stringify(address)} is not an absolute URL (https://… for FHIR and SOAP, mailto:… for Direct)`,
    });
  const connectionType: unknown = resource.connectionType;
  if (isObject(connectionType) && typeof connectionType.code !== 'string')
    issues.push({
      expression: 'Endpoint.connectionType.code',
      message: 'missing: without a code nothing says whether the endpoint is FHIR, IHE/SOAP or Direct',
    });
  return issues;
}

function isAbsoluteUrl(value: string): boolean {
  if (/\s/.test(value) || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(value)) return false;
  // `https:///x` parses (as host x), but as written it has no host.
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[/?#]/.test(value)) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'mailto:' ? url.pathname.includes('@') : url.host !== '';
  } catch {
    return false;
  }
}
