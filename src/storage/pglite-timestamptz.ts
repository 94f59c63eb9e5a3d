/**
 * PGlite returns a timestamptz as `new Date('0050-01-01 00:00:00+00')`, and JavaScript's legacy
 * (non-ISO) date parser reads years 0-99 as 1900-1999: a date sort key of year 50 came back as 1950,
 * so the next page's cursor skipped everything in between. This parser reads PostgreSQL's ISO output
 * as an ISO 8601 string instead (node-postgres already does); infinities stay ±Infinity as before.
 */
const PG_TIMESTAMPTZ = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(?::(\d{2}))?$/;

export const TIMESTAMPTZ_OID = 1184;

export function parseTimestamptz(text: string): Date | number {
  if (text === 'infinity') return Infinity;
  if (text === '-infinity') return -Infinity;
  const m = PG_TIMESTAMPTZ.exec(text);
  if (!m) return new Date(text);
  const [, year, month, day, time, hours, minutes = '00'] = m;
  return new Date(`${year}-${month}-${day}T${time}${hours}:${minutes}`);
}
