/**
 * One round of one `_include`/`_revinclude` (FHIR R4 search.html#include) as SQL: the current
 * resources that the frontier's resources refer to through search_reference, or that refer to them.
 * search-runner.ts repeats rounds for :iterate and keeps what is new.
 */
import type { IncludeSpec } from './search-query';
import { SqlBuilder, type CompiledSql } from './sql-builder';

const RECORD_COLUMNS = `r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.seq, r.content`;

/** The resources found through `spec` from `frontier`, at most `cap` + 1; undefined when none can be. */
export function compileInclude(
  spec: IncludeSpec,
  frontier: readonly { resourceType: string; id: string }[],
  cap: number,
): CompiledSql | undefined {
  const ids = frontier.filter((m) => m.resourceType === spec.sourceType).map((m) => m.id);
  const targetIds = spec.reverse ? frontier.map((m) => m.id) : [];
  if ((spec.reverse ? targetIds : ids).length === 0) return undefined;
  const b = new SqlBuilder();
  const where: string[] = ['NOT r.deleted', `x.resource_type = ${b.bind(spec.sourceType)}`];
  if (spec.param !== undefined) where.push(`x.param = ${b.bind(spec.param)}`);
  let join: string;
  if (spec.reverse) {
    const frontierTypes = [...new Set(frontier.map((m) => m.resourceType))];
    join = 'x.resource_type = r.resource_type AND x.id = r.id';
    where.push(
      `x.target_id = ANY(${b.bind(targetIds)}::text[])`,
      `x.target_type = ANY(${b.bind(frontierTypes)}::text[])`,
    );
  } else {
    join = 'x.target_type = r.resource_type AND x.target_id = r.id';
    where.push(`x.id = ANY(${b.bind(ids)}::text[])`);
    if (spec.targetType) where.push(`r.resource_type = ${b.bind(spec.targetType)}`);
  }
  return b.compiled(
    `SELECT DISTINCT ${RECORD_COLUMNS} FROM search_reference x JOIN resource r ON ${join}
         WHERE ${where.join(' AND ')} ORDER BY r.resource_type, r.id LIMIT ${b.bind(cap + 1)}`,
  );
}
