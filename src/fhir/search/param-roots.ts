/**
 * Which top-level elements of a resource a search parameter's FHIRPath reads, when that can be told
 * from the expression itself: each part of its union must be a path that starts at the resource
 * (`Organization.address.city`, `Endpoint.extension.where(url = '…').value.ofType(code)`,
 * `(Provenance.occurred as dateTime)`, `Provenance.target.where(resolve() is Patient)`), continued by
 * elements, indexers, `as`, and functions known to look only at their input and their own arguments.
 * Such an expression's values are a function of those elements' JSON alone, so extract-index.ts can
 * reuse the rows it found for the same values. Anything else (an environment variable such as
 * `%resource`, a union inside a path, a function not on the list, a path starting elsewhere) gets
 * no roots, and is always evaluated.
 */
import {
  AsAtom,
  DotAtom,
  FhirPathAtom,
  FunctionAtom,
  IndexerAtom,
  SymbolAtom,
  UnionAtom,
  type Atom,
} from '@medplum/core';

/**
 * Functions whose result depends on their input collection and their arguments only (FHIRPath
 * N1): no clock (`now()`), no variables, no side effects (`trace()`), no terminology server.
 */
const INPUT_ONLY_FUNCTIONS: ReadonlySet<string> = new Set([
  'where',
  'ofType',
  'resolve',
  'extension',
  'exists',
  'empty',
  'not',
  'first',
  'last',
  'tail',
  'single',
  'distinct',
  'count',
  'hasValue',
  'select',
  'as',
  'is',
]);

/** The root elements `expression` reads on a resource of `resourceType`; undefined: cannot tell. */
export function paramRoots(expression: FhirPathAtom, resourceType: string): string[] | undefined {
  const roots = new Set<string>();
  for (const part of unionParts(expression.child)) {
    const root = rootOf(part, resourceType);
    if (root === undefined) return undefined;
    roots.add(root);
  }
  return [...roots].sort();
}

function unionParts(atom: Atom): Atom[] {
  return atom instanceof UnionAtom ? [...unionParts(atom.left), ...unionParts(atom.right)] : [atom];
}

/** The element a path part starts with (`Organization.address…` → `address`), or undefined. */
function rootOf(atom: Atom, resourceType: string): string | undefined {
  if (atom instanceof AsAtom) return isTypeName(atom.right) ? rootOf(atom.left, resourceType) : undefined;
  if (atom instanceof IndexerAtom)
    return argumentsSafe([atom.expr]) ? rootOf(atom.left, resourceType) : undefined;
  if (!(atom instanceof DotAtom)) return undefined;
  const { left, right } = atom;
  if (left instanceof SymbolAtom) {
    // The first step: the resource itself by its type, then one of its elements.
    if (left.name !== resourceType || !(right instanceof SymbolAtom)) return undefined;
    return isElementName(right.name) ? right.name : undefined;
  }
  const root = rootOf(left, resourceType);
  if (root === undefined) return undefined;
  if (right instanceof SymbolAtom) return isElementName(right.name) ? root : undefined;
  if (right instanceof FunctionAtom)
    return INPUT_ONLY_FUNCTIONS.has(right.name) && argumentsSafe(right.args) ? root : undefined;
  return undefined;
}

/**
 * Arguments are evaluated against the function's input items: they may hold any operator, but no
 * variable (`%resource` reads the root) and no function off the list.
 */
function argumentsSafe(atoms: readonly Atom[]): boolean {
  return atoms.every((atom) => {
    if (atom instanceof SymbolAtom) return !atom.name.startsWith('%');
    if (atom instanceof FunctionAtom) return INPUT_ONLY_FUNCTIONS.has(atom.name) && argumentsSafe(atom.args);
    return argumentsSafe(childAtoms(atom));
  });
}

/** The atoms inside an operator, an indexer or a parenthesised expression. */
function childAtoms(atom: Atom): Atom[] {
  const fields = atom as unknown as Record<string, unknown>;
  return ['left', 'right', 'child', 'expr']
    .map((key) => fields[key])
    .filter((value): value is Atom => typeof value === 'object' && value !== null && 'eval' in value);
}

function isTypeName(atom: Atom): boolean {
  return atom instanceof SymbolAtom && /^[A-Za-z][A-Za-z0-9]*$/.test(atom.name);
}

/** A JSON property name that is no member of every object (`constructor`, `toString`). */
function isElementName(name: string): boolean {
  return /^[a-z][A-Za-z0-9]*$/.test(name) && !(name in Object.prototype);
}

/**
 * Whether `resource` holds anything of the root element `name`: the element itself, its primitive
 * extension (`_name`), or a choice type of it (`occurredDateTime`, `_occurredDateTime`).
 */
export function rootKeysOf(resource: Readonly<Record<string, unknown>>, name: string): string[] {
  const keys: string[] = [];
  for (const key of Object.keys(resource)) {
    const bare = key.charCodeAt(0) === 95 /* _ */ ? key.slice(1) : key;
    if (!bare.startsWith(name)) continue;
    if (bare.length === name.length || isUpper(bare.charCodeAt(name.length))) keys.push(key);
  }
  return keys;
}

const isUpper = (code: number): boolean => code >= 65 && code <= 90;
