/**
 * Paging parameters shared by search and history: `_count` and an opaque keyset cursor `_page`
 * that the server alone writes (base64url JSON), so links stay valid while others write.
 */
import { invalid } from './errors';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

export function parseCount(query: URLSearchParams): number {
  const raw = query.get('_count');
  if (raw === null) return DEFAULT_COUNT;
  if (!/^\d{1,7}$/.test(raw)) throw invalid(`_count must be a non-negative integer, not '${raw}'`, '_count');
  return Math.min(Number(raw), MAX_COUNT);
}

export function encodeCursor(cursor: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

export function decodeCursor(query: URLSearchParams): Record<string, unknown> | undefined {
  const raw = query.get('_page');
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // fall through to the 400 below
  }
  throw invalid('_page is not a cursor this server issued', '_page');
}
