/**
 * Validation against the directory's profiles (profiles/), on top of the base R4 validation. It walks
 * the profile snapshot over the resource and checks what the profile adds to base R4: cardinality the
 * profile tightens, slices (which values fall in each, how many, and everything inside them: the NPI
 * identifier, a sub-extension), fixed and pattern values, choice types the profile narrows, every
 * invariant (constraint.expression, FHIRPath, each failing one reported), and terminology bindings
 * (required: the code must be in the set; extensible: a code that misspells or mis-systems a code of
 * the set is rejected, any other code is accepted, with a warning for our own value sets).
 *
 * @medplum/core's validator can take a profile, but it re-parses the StructureDefinition on every
 * call (6 ms a resource), never looks inside slices and stops at the first failing invariant of an
 * element, so it is used for base R4 only.
 */
import {
  deepEquals,
  deepIncludes,
  evalFhirPathTyped,
  parseFhirPath,
  type FhirPathAtom,
  type TypedValue,
} from '@medplum/core';
import type {
  ElementDefinition,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { issue } from '../errors';
import { DIRECTORY_CANONICAL } from '../directory-canonical';
import { elementTree, type ElementNode } from '../element-tree';
import { isObject } from '../json-value';
import { type Expansion, type TerminologySource, ValueSetExpander } from './value-set-expansion';

type Json = Record<string, unknown>;

interface Located {
  value: unknown;
  /** FHIRPath of the value, with indexes: Endpoint.extension[2].value.ofType(CodeableConcept). */
  path: string;
  /** For a choice element, the type its JSON property names (valueString -> String). */
  choiceType?: string;
}

export interface ProfileValidator {
  validate(resource: Resource, profile: StructureDefinition): OperationOutcomeIssue[];
}

// Invariants of the base specification are checked by the base validation already.
const BASE_SOURCE = 'http://hl7.org/fhir/StructureDefinition/';

export function createProfileValidator(terminology: TerminologySource): ProfileValidator {
  const expander = new ValueSetExpander(terminology);
  const trees = new WeakMap<StructureDefinition, ElementNode>();
  const treeOf = (profile: StructureDefinition): ElementNode => {
    let root = trees.get(profile);
    if (!root) {
      root = elementTree(profile.snapshot?.element ?? [])[0];
      if (!root) throw new Error(`${profile.url} has no snapshot`);
      trees.set(profile, root);
    }
    return root;
  };

  return {
    validate(resource, profile) {
      const walk: Walk = { resource, expander, issues: [] };
      const type = resource.resourceType;
      visit(walk, treeOf(profile), [{ value: resource, path: type }], false, type);
      return dedupe(walk.issues);
    },
  };
}

interface Walk {
  resource: Resource;
  expander: ValueSetExpander;
  issues: OperationOutcomeIssue[];
}

/**
 * `items` are the values of the element `node` describes; `inSlice` when base R4 knows nothing of
 * where they are (inside a slice), so every cardinality counts, not only the ones the profile tightens.
 */
function visit(walk: Walk, node: ElementNode, items: Located[], inSlice: boolean, where: string): void {
  const el = node.element;
  const checks = checksOf(node);
  if (inSlice || checks.tightens) checkCardinality(walk, el, items, where);
  for (const item of items) {
    if (checks.constraints.length > 0) checkConstraints(walk, el, checks.constraints, item);
    if (checks.binding) checkBinding(walk, checks.binding, item);
    checkFixedAndPattern(walk, el, item);
    if (item.choiceType) checkChoiceType(walk, el, item, item.choiceType);
    if (!isObject(item.value)) continue;
    for (const child of node.children) {
      const name = child.name.endsWith('[x]') ? child.name.slice(0, -3) : child.name;
      visit(walk, child, childValues(item, child), inSlice, `${item.path}.${name}`);
    }
  }
  if (node.slices.length === 0) return;
  for (const slice of node.slices) {
    const matching = items.filter((item) => inSliceOf(item.value, node, slice));
    visit(walk, slice, matching, true, where);
  }
}

/** What an element asks of its values, worked out once per element: the snapshots do not change. */
interface ElementChecks {
  /** Cardinality the base definition does not already impose. */
  tightens: boolean;
  /** The invariants the profile adds (base ones are the base validation's), parsed. */
  constraints: { key: string | undefined; human: string | undefined; parsed: FhirPathAtom | Error }[];
  /** A required or extensible binding that is not a base R4 required one (required-bindings.ts checks those). */
  binding?: { valueSet: string; strength: 'required' | 'extensible' };
}

const elementChecks = new WeakMap<ElementNode, ElementChecks>();

function checksOf(node: ElementNode): ElementChecks {
  let checks = elementChecks.get(node);
  if (checks) return checks;
  const el = node.element;
  checks = {
    tightens: tightens(el),
    constraints: (el.constraint ?? [])
      .filter((c) => c.expression && !c.source?.startsWith(BASE_SOURCE) && c.severity === 'error')
      .map((c) => ({ key: c.key, human: c.human, parsed: parsedInvariant(c.expression as string) })),
  };
  const binding = el.binding;
  if (
    binding?.valueSet &&
    (binding.strength === 'extensible' ||
      (binding.strength === 'required' && !binding.valueSet.startsWith('http://hl7.org/fhir/ValueSet/')))
  )
    checks.binding = { valueSet: binding.valueSet, strength: binding.strength };
  elementChecks.set(node, checks);
  return checks;
}

function childValues(parent: Located, child: ElementNode): Located[] {
  const value = parent.value as Json;
  const name = child.name;
  if (name.endsWith('[x]')) {
    const stem = name.slice(0, -3);
    const result: Located[] = [];
    for (const key of Object.keys(value)) {
      if (!key.startsWith(stem) || key.length === stem.length) continue;
      const type = key.slice(stem.length);
      if (type.charAt(0) !== type.charAt(0).toUpperCase()) continue;
      result.push({ value: value[key], path: `${parent.path}.${stem}.ofType(${type})`, choiceType: type });
    }
    return result;
  }
  const raw = value[name];
  if (raw === undefined) return [];
  return Array.isArray(raw)
    ? raw.map((v: unknown, i) => ({ value: v, path: `${parent.path}.${name}[${i}]` }))
    : [{ value: raw, path: `${parent.path}.${name}` }];
}

/** Does a value belong to a slice? Discriminators by value/pattern on $this or on a child (url). */
function inSliceOf(value: unknown, sliced: ElementNode, slice: ElementNode): boolean {
  const discriminators = sliced.element.slicing?.discriminator ?? [];
  if (discriminators.length === 0 || !isObject(value)) return false;
  return discriminators.every((d) => {
    if (d.type !== 'value' && d.type !== 'pattern') return false;
    const target = d.path === '$this' ? slice : slice.children.find((c) => c.name === d.path);
    const actual = d.path === '$this' ? value : value[d.path ?? ''];
    if (!target || actual === undefined) return false;
    const fixed = fixedOf(target.element);
    if (fixed !== undefined) return deepEquals(actual, fixed);
    const pattern = patternOf(target.element);
    return pattern !== undefined && deepIncludes(actual, pattern);
  });
}

/** Cardinality the base definition does not already impose (base R4 validation checks that). */
function tightens(el: ElementDefinition): boolean {
  const base = el.base;
  if (!base) return true;
  const max = (m: string | undefined): number => (m === undefined || m === '*' ? Infinity : Number(m));
  return (el.min ?? 0) > (base.min ?? 0) || max(el.max) < max(base.max);
}

function checkCardinality(walk: Walk, el: ElementDefinition, items: Located[], where: string): void {
  const min = el.min ?? 0;
  const max = el.max === '*' || el.max === undefined ? Infinity : Number(el.max);
  if (items.length >= min && items.length <= max) return;
  const what = el.sliceName ? `slice '${el.sliceName}' (${el.id ?? el.path})` : (el.id ?? el.path);
  const problem =
    items.length === 0
      ? `Missing required property: ${what} needs at least ${min}`
      : `${what}: expected ${min}..${el.max ?? '*'} values, found ${items.length}`;
  walk.issues.push(
    issue(
      items.length < min ? 'required' : 'structure',
      problem,
      items.length > 0 ? items.map((i) => i.path) : where,
    ),
  );
}

function checkConstraints(
  walk: Walk,
  el: ElementDefinition,
  constraints: ElementChecks['constraints'],
  item: Located,
): void {
  for (const c of constraints) {
    if (holds(walk, c.parsed, el, item)) continue;
    walk.issues.push(issue('invariant', `Constraint ${String(c.key)} failed: ${String(c.human)}`, item.path));
  }
}

/**
 * Each invariant's FHIRPath, parsed once: evalFhirPathTyped given text parses it on every call, which
 * was about a third of the profile check's time in the import profile (README, "Speed").
 */
const parsedInvariants = new Map<string, FhirPathAtom | Error>();

function parsedInvariant(expression: string): FhirPathAtom | Error {
  let parsed = parsedInvariants.get(expression);
  if (parsed === undefined) {
    try {
      parsed = parseFhirPath(expression);
    } catch (err) {
      parsed = err instanceof Error ? err : new Error(String(err));
    }
    parsedInvariants.set(expression, parsed);
  }
  return parsed;
}

function holds(walk: Walk, parsed: FhirPathAtom | Error, el: ElementDefinition, item: Located): boolean {
  const type = el.path.includes('.') ? (el.type?.[0]?.code ?? 'BackboneElement') : walk.resource.resourceType;
  const typed: TypedValue = { type, value: item.value };
  const root: TypedValue = { type: walk.resource.resourceType, value: walk.resource };
  if (parsed instanceof Error) return false; // an unparseable invariant fails, as it did when parsed here
  try {
    const result = evalFhirPathTyped(parsed, [typed], { '%resource': root, '%rootResource': root });
    // FHIR: an invariant that evaluates to empty is not violated; only an explicit false fails.
    return !(result.length === 1 && result[0]?.value === false);
  } catch {
    return false;
  }
}

function checkFixedAndPattern(walk: Walk, el: ElementDefinition, item: Located): void {
  const fixed = fixedOf(el);
  if (fixed !== undefined && !deepEquals(item.value, fixed)) {
    walk.issues.push(
      issue('value', `${el.id ?? el.path} must be exactly ${JSON.stringify(fixed)}`, item.path),
    );
  }
  const pattern = patternOf(el);
  if (pattern !== undefined && !deepIncludes(item.value, pattern)) {
    walk.issues.push(issue('value', `${el.id ?? el.path} must match ${JSON.stringify(pattern)}`, item.path));
  }
}

function checkChoiceType(walk: Walk, el: ElementDefinition, item: Located, type: string): void {
  const allowed = (el.type ?? []).map((t) => t.code);
  if (allowed.length === 0 || allowed.some((code) => code.toLowerCase() === type.toLowerCase())) return;
  walk.issues.push(
    issue('structure', `${el.id ?? el.path} must be of type ${allowed.join(' or ')}, not ${type}`, item.path),
  );
}

function fixedOf(el: ElementDefinition): unknown {
  return valueOfPrefix(el, 'fixed');
}

function patternOf(el: ElementDefinition): unknown {
  return valueOfPrefix(el, 'pattern');
}

/** Each element's fixed[x] and pattern[x], found once: the snapshot's elements do not change. */
const prefixed = new WeakMap<ElementDefinition, { fixed: unknown; pattern: unknown }>();

function valueOfPrefix(el: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  let found = prefixed.get(el);
  if (!found) {
    found = { fixed: findValueOfPrefix(el, 'fixed'), pattern: findValueOfPrefix(el, 'pattern') };
    prefixed.set(el, found);
  }
  return found[prefix];
}

function findValueOfPrefix(el: ElementDefinition, prefix: 'fixed' | 'pattern'): unknown {
  for (const [key, value] of Object.entries(el)) if (key.startsWith(prefix)) return value as unknown;
  return undefined;
}

function checkBinding(walk: Walk, binding: NonNullable<ElementChecks['binding']>, item: Located): void {
  const expansion = walk.expander.expand(binding.valueSet);
  if (!expansion) return;
  const codings = codingsOf(item.value);
  if (codings.length === 0) return;
  if (codings.some((c) => c.system && c.code && expansion.systems.get(c.system)?.has(c.code))) return;
  const vs = binding.valueSet;
  if (binding.strength === 'required') {
    walk.issues.push(
      issue('code-invalid', `None of ${describe(codings)} is in the required value set ${vs}`, item.path),
    );
    return;
  }
  for (const coding of codings) {
    const nearMiss = closestConcept(coding, expansion);
    if (nearMiss) {
      walk.issues.push(
        issue(
          'code-invalid',
          `${describe([coding])} is not in the extensible value set ${vs}, which has ${nearMiss}: use that code`,
          item.path,
        ),
      );
      return;
    }
  }
  // Other codes are allowed by an extensible binding; only our own value sets say so, as a hint.
  if (!vs.startsWith(DIRECTORY_CANONICAL)) return;
  walk.issues.push(
    issue(
      'code-invalid',
      `${describe(codings)} is not in the extensible value set ${vs}; accepted because no code there matches`,
      item.path,
      'warning',
    ),
  );
}

interface CodingLike {
  system?: string;
  code?: string;
}

function codingsOf(value: unknown): CodingLike[] {
  if (typeof value === 'string') return [{ code: value }];
  if (!isObject(value)) return [];
  const pick = (c: Json): CodingLike => ({
    ...(typeof c.system === 'string' ? { system: c.system } : {}),
    ...(typeof c.code === 'string' ? { code: c.code } : {}),
  });
  if (Array.isArray(value.coding))
    return value.coding
      .filter(isObject)
      .map(pick)
      .filter((c) => c.code);
  return typeof value.code === 'string' ? [pick(value)] : [];
}

/**
 * The concept of the set a coding most likely meant: the same code under another system, or a code
 * that differs only in case, spaces, hyphens or underscores (`IHE_XCA` for `ihe-xca`).
 */
function closestConcept(coding: CodingLike, expansion: Expansion): string | undefined {
  if (!coding.code) return undefined;
  const loose = (code: string): string => code.toLowerCase().replace(/[\s_-]+/g, '');
  for (const [system, codes] of expansion.systems) {
    if (system !== coding.system && codes.has(coding.code)) return `'${system}|${coding.code}'`;
  }
  for (const [system, codes] of expansion.systems) {
    for (const code of codes) if (loose(code) === loose(coding.code)) return `'${system}|${code}'`;
  }
  return undefined;
}

function describe(codings: CodingLike[]): string {
  return codings.map((c) => `'${c.system ? `${c.system}|` : ''}${c.code ?? ''}'`).join(', ');
}

/** A slice's elements are also elements of the sliced element: the same finding can come twice. */
function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity}|${i.code}|${i.diagnostics ?? ''}|${(i.expression ?? []).join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
