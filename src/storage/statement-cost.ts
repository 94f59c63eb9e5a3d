/**
 * The planner's own estimate of what a statement would cost, read before running it: the search
 * runner refuses a page (and skips a `_total` or an include) whose estimate is over the request's
 * budget, SEARCH_MAX_COST (src/fhir/limits.ts), instead of letting it hold the database for seconds.
 *
 * Units are PostgreSQL's planner cost units (seq_page_cost = 1). Measured on the full-size bench
 * store (20,000 Organizations, 50,000 Endpoints), PGlite: every workload query of bench/lib/workload.js
 * plans at 13-930; the worst accepted search before this guard (a 4-link chain with 500 prefixes,
 * five sort keys, `_total`, 1,000 a page, ten includes) planned its page at 180,000 (11.5 s), its
 * count at 44,900 (2.9 s) and each include at up to 10,600 (0.4-1 s) on a machine under load.
 */
import type { SqlExecutor, SqlValue } from './sql-client';

interface PlanNode {
  'Total Cost'?: number;
}

/** EXPLAIN (FORMAT JSON): the root plan node's Total Cost. pg parses json; a string is parsed here. */
export async function estimatedCost(db: SqlExecutor, sql: string, params: SqlValue[]): Promise<number> {
  const [row] = await db.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  let plan: unknown = row ? Object.values(row)[0] : undefined;
  if (typeof plan === 'string') plan = JSON.parse(plan) as unknown;
  const root = Array.isArray(plan) ? (plan[0] as { Plan?: PlanNode } | undefined)?.Plan : undefined;
  const cost = root?.['Total Cost'];
  // No estimate is no permission: fail safe (the caller treats it as over any budget).
  return typeof cost === 'number' && Number.isFinite(cost) ? cost : Infinity;
}
