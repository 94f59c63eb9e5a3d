/**
 * Which FHIR route a request is, and the FhirRequest it carries: the one answer for the express
 * router and the hit lane alike, so the lane can never take a request for a route the full path
 * would not (test/http/hit-lane.test.ts walks FHIR_ROUTES and tricky paths against express).
 *
 * Matching follows express 5's router as the directory configures it: `/fhir` mounted without
 * regard to case; under it, paths case-sensitive, one trailing slash allowed, a parameter one
 * non-empty segment (still percent-encoded when matched, so `%2F` stays inside it), then decoded;
 * `GET` routes answer `HEAD` too; `/metadata` comes first; a route whose `:type` is not a directory
 * type is passed over.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FhirRequest } from '../fhir/request';
import { isDirectoryType } from '../fhir/resource-types';
import { FHIR_ROUTES, type FhirRoute, type RouteParams } from './route-table';

/** Where the FHIR routes are mounted. */
export const FHIR_MOUNT = '/fhir';

export interface RouteMatch {
  route: FhirRoute;
  params: RouteParams;
}

/** `metadata`: GET /fhir/metadata (the CapabilityStatement). */
export type RouteDecision = RouteMatch | 'metadata' | undefined;

interface CompiledRoute {
  route: FhirRoute;
  pattern: RegExp;
  names: (keyof RouteParams)[];
}

const escape = (literal: string): string => literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `/:type/:id/_history` → /^\/([^/]+)\/([^/]+)\/_history(?:\/)?$/ (path-to-regexp 8, non-strict). */
export function compileRoutePath(path: string): { pattern: RegExp; names: (keyof RouteParams)[] } {
  const names: (keyof RouteParams)[] = [];
  const source = path
    .split('/')
    .slice(1)
    .map((segment) => {
      if (!segment.startsWith(':')) return escape(segment);
      names.push(segment.slice(1) as keyof RouteParams);
      return '([^/]+)';
    })
    .join('\\/');
  return { pattern: new RegExp(`^\\/${source}(?:\\/)?$`), names };
}

const COMPILED: readonly CompiledRoute[] = FHIR_ROUTES.map((route) => ({
  route,
  ...compileRoutePath(route.path),
}));
const METADATA = compileRoutePath('/metadata').pattern;

/** Each route's template under the mount (`/fhir/:type/:id`), made once: the metrics' route label. */
const LABELS = new Map<FhirRoute, string>(
  FHIR_ROUTES.map((route) => [route, route.path === '/' ? FHIR_MOUNT : FHIR_MOUNT + route.path]),
);
const METADATA_LABEL = `${FHIR_MOUNT}/metadata`;

/** The route's template under the mount, e.g. `/fhir/:type/:id` (never the path itself, with its ids). */
export function routeLabel(route: FhirRoute | 'metadata'): string {
  return route === 'metadata' ? METADATA_LABEL : (LABELS.get(route) ?? FHIR_MOUNT + route.path);
}

/** The path under the `/fhir` mount, or undefined when the path is not under it. */
export function pathUnderMount(pathname: string): string | undefined {
  if (pathname.length < FHIR_MOUNT.length) return undefined;
  if (pathname.slice(0, FHIR_MOUNT.length).toLowerCase() !== FHIR_MOUNT) return undefined;
  const rest = pathname.slice(FHIR_MOUNT.length);
  if (rest === '') return '/';
  return rest.startsWith('/') ? rest : undefined;
}

/** A parameter as express decodes it; undefined where express answers 400 (a broken escape). */
function decodeParam(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * The route express dispatches `method` on `pathname` (the URL's path, still percent-encoded) to;
 * undefined where it answers 404, 405 or 400 instead (no route, the wrong method, a type this
 * directory does not store, a parameter that does not decode).
 */
export function matchFhirRoute(method: string, pathname: string): RouteDecision {
  const path = pathUnderMount(pathname);
  if (path === undefined) return undefined;
  const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
  if (METADATA.test(path)) return verb === 'get' ? 'metadata' : undefined;
  for (const { route, pattern, names } of COMPILED) {
    const found = pattern.exec(path);
    if (!found) continue;
    const params: RouteParams = {};
    for (const [index, name] of names.entries()) {
      const value = decodeParam(found[index + 1] as string);
      // Express decodes a layer's parameters before it looks at the method: 400 either way.
      if (value === undefined) return undefined;
      params[name] = value;
    }
    if (route.method !== verb) continue;
    if (!routeTakes(params)) continue;
    return { route, params };
  }
  return undefined;
}

/** Whether a route takes these parameters: a `:type` must be a type this directory stores. */
export function routeTakes(params: RouteParams): boolean {
  return params.type === undefined || isDirectoryType(params.type);
}

/** The query of a request URL (path and query, as `req.url` has it). */
export function requestQuery(url: string): URLSearchParams {
  return new URL(url, 'http://localhost').searchParams;
}

/** A request's headers as a FhirRequest carries them: lower-cased names, repeated values joined. */
export function requestHeaders(headers: IncomingHttpHeaders): Record<string, string | undefined> {
  const joined: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers))
    joined[name] = Array.isArray(value) ? value.join(', ') : value;
  return joined;
}

/** The FhirRequest the interactions receive, made the same way for the router and the lane. */
export function fhirRequestOf(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body?: unknown,
): FhirRequest {
  return { method, query: requestQuery(url), headers: requestHeaders(headers), body };
}
