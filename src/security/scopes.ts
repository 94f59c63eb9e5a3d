/**
 * SMART system scopes (App Launch 2.x, "Scopes and Launch Context"): what a token lets its client do,
 * per resource type and interaction. v2 letters `c r u d s` (a subset, in that order); the v1 forms
 * `.read` (= rs), `.write` (= cud) and `.*` (= cruds) are read as their v2 equivalents. Only `system/`
 * scopes mean anything here (there are no patients or users); anything else is ignored, as a server
 * may ignore scopes it does not grant. `system/introspect` (this directory's name) lets a non-admin
 * service call POST /auth/introspect.
 */

/** One SMART letter: create, read (read, vread, instance history), update (and patch), delete, search. */
export type ScopeLetter = 'c' | 'r' | 'u' | 'd' | 's';

/** The interactions a scope check is asked about. */
export type ScopedInteraction = 'create' | 'read' | 'update' | 'delete' | 'search';

const LETTER_OF: Record<ScopedInteraction, ScopeLetter> = {
  create: 'c',
  read: 'r',
  update: 'u',
  delete: 'd',
  search: 's',
};

const ORDER: readonly ScopeLetter[] = ['c', 'r', 'u', 'd', 's'];

export const INTROSPECT_SCOPE = 'system/introspect';

/** One granted rule: a resource type (or `*`) and the letters allowed on it. */
export interface ScopeRule {
  type: string;
  letters: ReadonlySet<ScopeLetter>;
  /** The scope as written. */
  text: string;
}

export interface ScopeSet {
  rules: readonly ScopeRule[];
  /** Scopes that are not resource scopes but are granted as written (`system/introspect`). */
  special: ReadonlySet<string>;
}

const V1_LETTERS: Record<string, string> = { read: 'rs', write: 'cud', '*': 'cruds' };
const RESOURCE_SCOPE = /^system\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]+)$/;
const V2_LETTERS = /^c?r?u?d?s?$/;

/** Parses one scope; undefined when it is not a system resource scope this server understands. */
export function parseScope(text: string): ScopeRule | undefined {
  const match = RESOURCE_SCOPE.exec(text);
  if (!match) return undefined;
  const [, type, suffix] = match as unknown as [string, string, string];
  const letters = V1_LETTERS[suffix] ?? suffix;
  // Out of order, repeated or unknown letters (`.dus`, `.rr`) are refused, as SMART allows.
  if (letters === '' || !V2_LETTERS.test(letters)) return undefined;
  return { type, letters: new Set(letters.split('') as ScopeLetter[]), text };
}

/** Parses a space-separated scope string (or a list); what is not understood is left out. */
export function parseScopes(scopes: string | readonly string[]): ScopeSet {
  const words = typeof scopes === 'string' ? scopes.split(/\s+/) : scopes;
  const rules: ScopeRule[] = [];
  const special = new Set<string>();
  for (const word of words) {
    if (word === '') continue;
    if (word === INTROSPECT_SCOPE) {
      special.add(word);
      continue;
    }
    const rule = parseScope(word);
    if (rule) rules.push(rule);
  }
  return { rules, special };
}

/** Whether the scopes allow `interaction` on `type`. */
export function scopeAllows(scopes: ScopeSet, type: string, interaction: ScopedInteraction): boolean {
  const letter = LETTER_OF[interaction];
  return scopes.rules.some((rule) => (rule.type === '*' || rule.type === type) && rule.letters.has(letter));
}

/** The SMART letter an interaction needs, for messages (`update needs "u"`). */
export const letterFor = (interaction: ScopedInteraction): ScopeLetter => LETTER_OF[interaction];

function ruleText(type: string, letters: ReadonlySet<ScopeLetter>): string {
  return `system/${type}.${ORDER.filter((l) => letters.has(l)).join('')}`;
}

/**
 * What a client asking for `requested` may have, given what it is `allowed`: each requested scope
 * granted as asked when one allowed rule covers it, otherwise reduced to what the allowed rules
 * leave of it (`system/*.rs` asked, `system/Endpoint.cruds` allowed: `system/Endpoint.rs`). Scopes
 * that cannot be granted at all are dropped; an empty answer is OAuth's `invalid_scope`.
 */
export function grantScopes(requested: string, allowed: readonly string[]): string[] {
  const allowedSet = parseScopes(allowed);
  const granted: string[] = [];
  const seen = new Set<string>();
  const add = (text: string): void => {
    if (!seen.has(text)) {
      seen.add(text);
      granted.push(text);
    }
  };
  for (const word of requested.split(/\s+/)) {
    if (word === '') continue;
    if (word === INTROSPECT_SCOPE) {
      if (allowedSet.special.has(word)) add(word);
      continue;
    }
    const asked = parseScope(word);
    if (!asked) continue;
    const covered = allowedSet.rules.some(
      (rule) =>
        (rule.type === '*' || rule.type === asked.type) &&
        [...asked.letters].every((l) => rule.letters.has(l)),
    );
    if (covered) {
      add(word);
      continue;
    }
    for (const rule of allowedSet.rules) {
      const type =
        asked.type === '*'
          ? rule.type
          : rule.type === '*' || rule.type === asked.type
            ? asked.type
            : undefined;
      if (type === undefined) continue;
      const letters = new Set([...asked.letters].filter((l) => rule.letters.has(l)));
      if (letters.size > 0) add(ruleText(type, letters));
    }
  }
  return granted;
}

/** Whether every word of `scopes` is one this server understands (for checking a client's allowed list). */
export function unknownScopes(scopes: readonly string[]): string[] {
  return scopes.filter((s) => s !== INTROSPECT_SCOPE && parseScope(s) === undefined);
}
