/**
 * `_include`, `_revinclude` and their `:iterate` forms (search.html#include). Identical specs are one
 * spec, and the distinct specs are capped (SEARCH_MAX_INCLUDES): each spec is a query per include
 * round (src/storage/search-runner.ts runs at most 4 rounds), and 300 copies of one
 * `_include:iterate` took 5-19 s, linear in the copies, before they were de-duplicated.
 */
import type { IncludeSpec } from '../../storage/search-query';
import { invalid, limitExceeded } from '../errors';
import { LIMIT_VARIABLES, type RequestLimits } from '../limits';
import { isDirectoryType } from '../resource-types';
import { searchParam } from './registry';

const INCLUDE_PARAMETERS = [
  { name: '_include', reverse: false, iterate: false },
  { name: '_include:iterate', reverse: false, iterate: true },
  { name: '_revinclude', reverse: true, iterate: false },
  { name: '_revinclude:iterate', reverse: true, iterate: true },
] as const;

export function parseIncludes(
  type: string,
  params: URLSearchParams,
  limits: Readonly<RequestLimits>,
): IncludeSpec[] {
  const specs = new Map<string, IncludeSpec>();
  for (const { name, reverse, iterate } of INCLUDE_PARAMETERS) {
    // Repeated text is parsed once; distinct text may still name the same spec (`:Type` spelt out).
    for (const value of new Set(params.getAll(name))) {
      const spec = parseInclude(type, value, reverse, iterate);
      const key = `${spec.sourceType}:${spec.param ?? '*'}:${spec.targetType ?? ''}:${reverse}:${iterate}`;
      specs.set(key, spec);
      if (specs.size > limits.includes) {
        throw limitExceeded(
          `The search has more than ${limits.includes} distinct _include and _revinclude specs`,
          LIMIT_VARIABLES.includes,
          limits.includes,
          name,
        );
      }
    }
  }
  return [...specs.values()];
}

function parseInclude(type: string, value: string, reverse: boolean, iterate: boolean): IncludeSpec {
  const name = reverse ? '_revinclude' : '_include';
  const [sourceType = '', code = '', targetType] = value.split(':');
  if (!isDirectoryType(sourceType))
    throw invalid(`${name}: '${sourceType}' is not a type of this directory`, name);
  if (!reverse && !iterate && sourceType !== type)
    throw invalid(`${name}=${value} must start with ${type}`, name);
  if (targetType !== undefined && !isDirectoryType(targetType))
    throw invalid(`${name}: '${targetType}' is not a type of this directory`, name);
  const spec: IncludeSpec = { sourceType, iterate, reverse };
  if (code !== '*') {
    const param = searchParam(sourceType, code);
    if (!param || param.type !== 'reference')
      throw invalid(`${name}: ${sourceType} has no reference parameter '${code}'`, name);
    spec.param = code;
  }
  if (targetType) spec.targetType = targetType;
  return spec;
}
