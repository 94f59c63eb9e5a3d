/**
 * How much work one request may ask for. Every limit is configuration (README.md, "Limits"); a request
 * over one is answered 400 (413 for sizes) with an OperationOutcome that names the limit, before any
 * database work. The defaults fit every real directory query with room to spare and keep each request
 * to milliseconds of database and event-loop time.
 */
export interface RequestLimits {
  /** Search parameters (conditions) in one search, counting each link of a chain and each `_has`. */
  searchConditions: number;
  /** Values in one search, all parameters together (comma-separated OR values count one each). */
  searchValues: number;
  /** Keys in `_sort`. */
  sortKeys: number;
  /** `_include` and `_revinclude` specs in one search, after removing duplicates. */
  includes: number;
  /** Links in one chain (`partof.partof.name` is 3) and nested `_has` levels. */
  chainDepth: number;
  /** Entries in one transaction or batch Bundle. */
  bundleEntries: number;
  /** Bytes of one resource in a write or $validate (a Bundle's entries each count on their own). */
  resourceBytes: number;
  /**
   * The database work one search may cost, in PostgreSQL planner cost units, as the planner estimates
   * it before running (src/storage/statement-cost.ts): a page over it is refused, a `_total` over it
   * left out, and includes stop when all of them together would pass it (both with a warning).
   */
  searchCost: number;
}

export const DEFAULT_LIMITS: Readonly<RequestLimits> = Object.freeze({
  searchConditions: 20,
  // Planning OR values grows with their number (bench/or-values.js, PGlite, README "Limits"): a 4-link
  // chain with 100 prefixes planned in 0.3 s, with 500 in 1.5 s, at load 21 on 2 cores.
  searchValues: 100,
  sortKeys: 5,
  includes: 10,
  chainDepth: 4,
  bundleEntries: 1000,
  resourceBytes: 262144,
  // Every workload query of bench/lib/workload.js plans at 13-930 on the full-size bench store; a
  // statement of 10,000 ran 150-400 ms on PGlite there, the worst accepted search's page 180,000.
  searchCost: 10000,
});

/** The configuration variable behind each limit, named in the OperationOutcome of a breach. */
export const LIMIT_VARIABLES: Readonly<Record<keyof RequestLimits, string>> = Object.freeze({
  searchConditions: 'SEARCH_MAX_CONDITIONS',
  searchValues: 'SEARCH_MAX_VALUES',
  sortKeys: 'SEARCH_MAX_SORT_KEYS',
  includes: 'SEARCH_MAX_INCLUDES',
  chainDepth: 'SEARCH_MAX_CHAIN_DEPTH',
  bundleEntries: 'BUNDLE_MAX_ENTRIES',
  resourceBytes: 'MAX_RESOURCE_BYTES',
  searchCost: 'SEARCH_MAX_COST',
});
