/**
 * Text a search may hand to the database. PostgreSQL's text cannot hold NUL (the driver answers
 * "invalid byte sequence", a 500), and a lone UTF-16 surrogate (possible only through a JSON escape
 * such as a forged `_page` cursor) is not a character at all, so neither may reach a query.
 */
import { invalid } from '../errors';

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** 400 naming the first parameter whose name or value the database could not hold. */
export function requireStorableParameters(params: URLSearchParams): void {
  for (const [name, value] of params) {
    if (!isStorableText(name) || !isStorableText(value)) {
      throw invalid(
        `${JSON.stringify(name)} holds a character a search cannot take (NUL or a lone surrogate)`,
        name,
      );
    }
  }
}
