/**
 * Required terminology bindings (FHIR R4 terminologies.html#required), which @medplum/core's
 * validateResource does not check: a coded element bound `required` SHALL hold a code from its value
 * set. The resource JSON is walked along the R4 StructureDefinition snapshots of its type and of the
 * datatypes beneath it; every coded value outside its value set yields one `code-invalid` issue.
 * Value sets we cannot expand completely are skipped, never used to reject.
 */
import { isObject, type JsonObject } from '../json-value';
import { readR4Bundle } from '../r4-bundles';
import type {
  ElementDefinition,
  OperationOutcomeIssue,
  Resource,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { type Expansion, r4Terminology, ValueSetExpander } from './value-set-expansion';

type Check = 'string' | 'Coding' | 'CodeableConcept';

interface Field {
  /** Present when the element is bound `required` and its type holds something we can compare. */
  readonly binding?: { readonly check: Check; readonly valueSet: string };
  /** The children of a datatype or backbone element. */
  readonly node?: Node;
  /** `Resource`-typed (contained, Bundle.entry.resource): walked as the type its resourceType names. */
  readonly resource?: boolean;
}

/** The elements of one complex value, by JSON property name (choice elements once per type). */
type Node = Map<string, Field>;

interface Index {
  readonly resources: ReadonlyMap<string, Node>;
  readonly expander: ValueSetExpander;
}

// Types whose JSON value is a string compared as is; `System.String` types Element.id and Extension.url.
const STRING_TYPES = new Set([
  'code',
  'string',
  'uri',
  'url',
  'canonical',
  'id',
  'oid',
  'uuid',
  'markdown',
  'http://hl7.org/fhirpath/System.String',
]);

// Resources nest a few dozen levels at most; the cap keeps hostile nesting off the call stack.
const MAX_DEPTH = 128;

let index: Index | undefined;

/** Builds the binding index now rather than on the first write (start-up calls it). */
export function prepareRequiredBindings(): void {
  index ??= buildIndex();
}

export function checkRequiredBindings(resource: Resource): OperationOutcomeIssue[] {
  index ??= buildIndex();
  const walk: Walk = { index, issues: [], seen: new Set() };
  try {
    visitResource(walk, resource, undefined, 0);
  } catch {
    // Only exotic input gets here (throwing getters, revoked proxies); the structural validator
    // reports it, so keep the issues found so far.
  }
  return walk.issues;
}

function buildIndex(): Index {
  const definitions = [
    ...structureDefinitions('fhir/r4/profiles-types.json'),
    ...structureDefinitions('fhir/r4/profiles-resources.json'),
  ].filter((sd) => sd.derivation !== 'constraint' && (sd.kind === 'resource' || sd.kind === 'complex-type'));
  const kinds = new Map(definitions.map((sd) => [sd.type, sd.kind]));

  // One node per element that has children, keyed by type and path, all created before any is filled
  // so that fields can point at nodes of types not filled yet (Identifier.assigner -> Reference -> Identifier).
  const nodes = new Map<string, Map<string, Field>>();
  const key = (type: string, path: string): string => `${type} ${path}`;
  for (const sd of definitions) {
    for (const el of elements(sd)) {
      const parent = parentPath(el.path);
      const parentKey = parent === undefined ? undefined : key(sd.type, parent);
      if (parentKey !== undefined && !nodes.has(parentKey)) nodes.set(parentKey, new Map());
    }
  }

  for (const sd of definitions) {
    for (const el of elements(sd)) {
      const parent = parentPath(el.path);
      const target = parent === undefined ? undefined : nodes.get(key(sd.type, parent));
      if (parent === undefined || !target) continue;
      const name = el.path.slice(parent.length + 1);
      // In R4, Questionnaire.item.item and the like carry `#Questionnaire.item` and no type.
      if (el.contentReference) {
        const node = nodes.get(key(sd.type, el.contentReference.slice(el.contentReference.indexOf('#') + 1)));
        if (node) target.set(name, { node });
        continue;
      }
      const inline = nodes.get(key(sd.type, el.path));
      for (const { code } of el.type ?? []) {
        const node = inline ?? (kinds.get(code) === 'complex-type' ? nodes.get(key(code, code)) : undefined);
        const check = checkFor(code);
        const bound = el.binding?.strength === 'required' ? el.binding.valueSet : undefined;
        // Choice elements appear in JSON as valueCode, valueCodeableConcept, ... (json.html#choice).
        const property = name.endsWith('[x]')
          ? name.slice(0, -3) + code.charAt(0).toUpperCase() + code.slice(1)
          : name;
        target.set(property, {
          ...(bound && check ? { binding: { check, valueSet: bound } } : {}),
          ...(node ? { node } : {}),
          ...(kinds.get(code) === 'resource' ? { resource: true } : {}),
        });
      }
    }
  }

  const resources = new Map<string, Node>();
  for (const sd of definitions) {
    const node = nodes.get(key(sd.type, sd.type));
    if (sd.kind === 'resource' && node) resources.set(sd.type, node);
  }
  return { resources, expander: new ValueSetExpander(r4Terminology()) };
}

function structureDefinitions(file: string): StructureDefinition[] {
  return (readR4Bundle(file).entry ?? []).flatMap((e) =>
    e.resource?.resourceType === 'StructureDefinition' ? [e.resource] : [],
  );
}

/** Base definitions have no slices; skipping any keeps a slice from overwriting its element. */
function elements(sd: StructureDefinition): ElementDefinition[] {
  return (sd.snapshot?.element ?? []).filter((el) => !el.sliceName);
}

function parentPath(path: string): string | undefined {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? undefined : path.slice(0, dot);
}

// Quantity, Reference and the like can be bound too, but hold no code we compare; they are skipped.
function checkFor(type: string): Check | undefined {
  if (type === 'Coding' || type === 'CodeableConcept') return type;
  return STRING_TYPES.has(type) ? 'string' : undefined;
}

interface Walk {
  readonly index: Index;
  readonly issues: OperationOutcomeIssue[];
  /** Guards against cycles and shared subtrees in objects built in memory (parsed JSON has none). */
  readonly seen: Set<object>;
}

function visitResource(walk: Walk, value: unknown, path: string | undefined, depth: number): void {
  if (!isObject(value) || typeof value.resourceType !== 'string') return;
  const node = walk.index.resources.get(value.resourceType);
  if (node) visitNode(walk, value, node, path ?? value.resourceType, depth);
}

function visitNode(walk: Walk, value: JsonObject, node: Node, path: string, depth: number): void {
  if (depth > MAX_DEPTH || walk.seen.has(value)) return;
  walk.seen.add(value);
  // Unknown properties and primitive extensions (`_status`) have no field and are skipped.
  for (const property of Object.keys(value)) {
    const field = node.get(property);
    if (!field) continue;
    const child = value[property];
    if (Array.isArray(child)) {
      for (let i = 0; i < child.length; i++)
        visitField(walk, child[i], field, `${path}.${property}[${i}]`, depth);
    } else {
      visitField(walk, child, field, `${path}.${property}`, depth);
    }
  }
}

function visitField(walk: Walk, value: unknown, field: Field, path: string, depth: number): void {
  if (field.binding) checkBinding(walk, value, field.binding.check, field.binding.valueSet, path);
  if (field.resource) visitResource(walk, value, path, depth + 1);
  else if (field.node && isObject(value)) visitNode(walk, value, field.node, path, depth + 1);
}

function checkBinding(walk: Walk, value: unknown, check: Check, valueSet: string, path: string): void {
  const expansion = walk.index.expander.expand(valueSet);
  const problem = expansion && findProblem(value, check, expansion);
  if (!problem) return;
  walk.issues.push({
    severity: 'error',
    code: 'code-invalid',
    diagnostics: `${problem} the required value set ${valueSet} for ${path}`,
    expression: [path],
  });
}

/** The start of the diagnostic sentence, or undefined when the value is in the set or has no code. */
function findProblem(value: unknown, check: Check, expansion: Expansion): string | undefined {
  if (check === 'string') {
    return typeof value === 'string' && !expansion.codes.has(value)
      ? `Value ${quote(value)} is not in`
      : undefined;
  }
  if (!isObject(value)) return undefined;
  if (check === 'Coding') {
    return typeof value.code === 'string' && !inExpansion(value, expansion)
      ? `Coding ${describeCoding(value)} is not in`
      : undefined;
  }
  const codings = Array.isArray(value.coding) ? value.coding.filter(isObject) : [];
  if (codings.length > 0) {
    if (codings.some((c) => inExpansion(c, expansion))) return undefined;
    return `None of the codings (${codings.map(describeCoding).join(', ')}) is in`;
  }
  // Text alone does not satisfy a required binding in R4 (terminologies.html#required).
  if (typeof value.text === 'string')
    return `CodeableConcept with only text ${quote(value.text)} has no coding from`;
  return undefined;
}

function inExpansion(coding: JsonObject, expansion: Expansion): boolean {
  const { system, code } = coding;
  return typeof system === 'string' && typeof code === 'string' && !!expansion.systems.get(system)?.has(code);
}

function describeCoding(coding: JsonObject): string {
  const code = typeof coding.code === 'string' ? coding.code : '(no code)';
  return typeof coding.system === 'string' ? quote(`${coding.system}|${code}`) : `${quote(code)} (no system)`;
}

/** Echoes a client's value, cut short so a huge one does not bloat the OperationOutcome. */
function quote(value: string): string {
  return `'${value.length > 100 ? `${value.slice(0, 100)}...` : value}'`;
}
