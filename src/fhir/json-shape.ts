/**
 * The shape every JSON document from a client must have before FHIR code reads it, wherever it
 * arrives: a request body, a resource inside a Bundle or a Parameters (both part of a body), a JSON
 * Patch carried base64 in a Binary. Refused with 400:
 * - prototype keys (`__proto__`, `constructor`, `prototype`): a later spread or lookup could reach
 *   Object.prototype, and no FHIR element has these names;
 * - nesting past MAX_JSON_DEPTH (walked without recursion, so a hostile depth cannot overflow the stack);
 * - a NUL character or a lone UTF-16 surrogate in any string or key: JSON can escape them
 *   (`"\u0000"`, `"\ud800"`), but they are not Unicode text, PostgreSQL `text`/`jsonb` cannot hold
 *   NUL (the insert fails), and a lone surrogate becomes U+FFFD on the way out (a silent change).
 */
import { invalid } from './errors';

/** FHIR resources nest a few levels deep; extensions and contained resources add some. */
export const MAX_JSON_DEPTH = 64;
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const NOT_TEXT_SOURCE =
  '\\u0000|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const NOT_TEXT = new RegExp(NOT_TEXT_SOURCE);
const NOT_TEXT_ALL = new RegExp(NOT_TEXT_SOURCE, 'g');

interface Node {
  value: unknown;
  depth: number;
  key: string | number;
  parent?: Node;
}

/**
 * `what` names the document in the diagnostics ("The body", "Bundle.entry[2].resource.data"), and
 * `expression` where it is, when it sits inside another document.
 */
export function checkJsonShape(root: unknown, what = 'The body', expression?: string): void {
  const stack: Node[] = [{ value: root, depth: 0, key: '' }];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    const { value, depth } = node;
    if (typeof value === 'string') {
      if (NOT_TEXT.test(value)) throw notText(what, node, 'value', expression);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_JSON_DEPTH)
      throw invalid(`${what} nests deeper than ${MAX_JSON_DEPTH} levels`, expression);
    if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, depth: depth + 1, key: index, parent: node }));
      continue;
    }
    for (const key of Object.keys(value)) {
      const child: Node = {
        value: (value as Record<string, unknown>)[key],
        depth: depth + 1,
        key,
        parent: node,
      };
      if (FORBIDDEN_KEYS.has(key))
        throw invalid(
          `${what} contains the forbidden property name '${key}' at ${pointer(child)}`,
          expression,
        );
      if (NOT_TEXT.test(key)) throw notText(what, child, 'property name', expression);
      stack.push(child);
    }
  }
}

function notText(what: string, node: Node, part: string, expression?: string): Error {
  return invalid(
    `${what} has a NUL character or an unpaired UTF-16 surrogate in the ${part} at ${pointer(node)}; strings must be Unicode text`,
    expression,
  );
}

/** RFC 6901 JSON Pointer of a node, built only when an error needs it. */
function pointer(node: Node): string {
  const parts: string[] = [];
  for (let at: Node | undefined = node; at?.parent; at = at.parent)
    parts.push(String(at.key).replace(NOT_TEXT_ALL, '\ufffd').replace(/~/g, '~0').replace(/\//g, '~1'));
  return parts.length === 0 ? '/' : `/${parts.reverse().join('/')}`;
}
