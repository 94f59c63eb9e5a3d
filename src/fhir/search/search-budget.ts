/**
 * What one search may ask of the database (src/fhir/limits.ts): conditions, OR values and chain
 * depth, counted from the parameter names and values before they are parsed, so that a request over
 * a limit costs neither a database round trip nor a deep recursion. Measured before these limits:
 * 300 copies of one condition took PGlite 33 s and a PostgreSQL backend 3.3 GB; 40,000 OR values broke
 * the 65,535 bind parameters of one statement; a 2,000-link chain overflowed the parser's stack.
 */
import { limitExceeded } from '../errors';
import { LIMIT_VARIABLES, type RequestLimits } from '../limits';

/**
 * The links of one parameter: each chain step (`partof.partof.name` is 3) and each `_has` level
 * (`_has:Endpoint:organization:name` is 2) counts one. Read from the name without parsing it.
 */
export function linksOf(name: string): number {
  let links = 1;
  for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) links++;
  for (let i = name.indexOf('_has:'); i >= 0; i = name.indexOf('_has:', i + 1)) links++;
  return links;
}

/** OR values in one parameter value: unescaped commas plus one (search.html#escaping). */
export function valueCount(value: string): number {
  let count = 1;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (ch === 0x5c /* \ */) i++;
    else if (ch === 0x2c /* , */) count++;
  }
  return count;
}

/** A parameter name as an outcome names it: the first 200 characters of a longer one (a 2,000-link chain). */
export function shown(name: string): string {
  return name.length > 200 ? `${name.slice(0, 200)}…` : name;
}

export class SearchBudget {
  private conditions = 0;
  private values = 0;

  constructor(private readonly limits: Readonly<RequestLimits>) {}

  /** Counts one filter parameter; throws 400 `too-costly` when it takes the search over a limit. */
  admit(name: string, value: string): void {
    const links = linksOf(name);
    if (links > this.limits.chainDepth) {
      throw limitExceeded(
        `${shown(name)} has ${links} chain links or _has levels`,
        LIMIT_VARIABLES.chainDepth,
        this.limits.chainDepth,
        shown(name),
      );
    }
    this.conditions += links;
    if (this.conditions > this.limits.searchConditions) {
      throw limitExceeded(
        `The search has more than ${this.limits.searchConditions} conditions (each chain link and _has level counts one)`,
        LIMIT_VARIABLES.searchConditions,
        this.limits.searchConditions,
        shown(name),
      );
    }
    this.values += valueCount(value);
    if (this.values > this.limits.searchValues) {
      throw limitExceeded(
        `The search has more than ${this.limits.searchValues} values (each comma-separated value counts one)`,
        LIMIT_VARIABLES.searchValues,
        this.limits.searchValues,
        shown(name),
      );
    }
  }
}
