/**
 * FHIR search.html#summary and #elements: trims each resource and marks it SUBSETTED.
 * Only these paths parse stored JSON; ordinary searches pass it through untouched.
 */
import { getDataType } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { SummaryMode } from './parse-search';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const ALWAYS = ['resourceType', 'id', 'meta'];

export function needsShaping(summary: SummaryMode | undefined, elements: string[] | undefined): boolean {
  return (summary !== undefined && summary !== 'false') || (elements !== undefined && elements.length > 0);
}

export function shapeResource(
  json: string,
  summary: SummaryMode | undefined,
  elements: string[] | undefined,
): string {
  const resource = JSON.parse(json) as Resource & Record<string, unknown>;
  let keep: (key: string) => boolean;
  if (elements && elements.length > 0) {
    const wanted = new Set([...ALWAYS, ...elements]);
    keep = (key) => wanted.has(key);
  } else if (summary === 'text') {
    const mandatory = getDataType(resource.resourceType).mandatoryProperties ?? new Set<string>();
    keep = (key) => ALWAYS.includes(key) || key === 'text' || mandatory.has(key);
  } else if (summary === 'data') {
    keep = (key) => key !== 'text';
  } else {
    const inSummary = getDataType(resource.resourceType).summaryProperties ?? new Set<string>();
    keep = (key) => ALWAYS.includes(key) || inSummary.has(key);
  }
  const shaped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) if (keep(key)) shaped[key] = value;
  const meta = (shaped.meta ?? {}) as { tag?: unknown[] };
  shaped.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return JSON.stringify(shaped);
}
