/**
 * FHIR dates as ranges of instants (search.html#date): `2024` is all of 2024, `2024-05-01T10:00Z`
 * is that minute. Values without a time zone are read as UTC.
 */
import { invalid } from './errors';
import type { InstantRange } from '../storage/search-query';

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export function parseDateRange(value: string, parameter: string): InstantRange {
  const m = DATE_PATTERN.exec(value);
  if (!m) throw invalid(`${parameter}: '${value}' is not a FHIR date, dateTime or instant`, parameter);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12))
    throw invalid(`${parameter}: month out of range`, parameter);
  if (day !== undefined && month !== undefined && (day < 1 || day > daysIn(year, month))) {
    throw invalid(`${parameter}: day out of range in '${value}'`, parameter);
  }
  if (month === undefined) return utcRange(Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
  if (day === undefined) return utcRange(Date.UTC(year, month - 1, 1), Date.UTC(year, month, 1));
  if (h === undefined) return utcRange(Date.UTC(year, month - 1, day), Date.UTC(year, month - 1, day + 1));
  const hours = Number(h);
  const minutes = Number(mi);
  const seconds = s === undefined ? undefined : Number(s);
  if (hours > 23 || minutes > 59 || (seconds ?? 0) > 59)
    throw invalid(`${parameter}: time out of range`, parameter);
  const offsetMs = tz === undefined || tz === 'Z' ? 0 : offsetMinutes(tz) * 60_000;
  const base = Date.UTC(year, month - 1, day, hours, minutes, seconds ?? 0) - offsetMs;
  if (seconds === undefined) return utcRange(base, base + 60_000);
  if (frac === undefined) return utcRange(base, base + 1000);
  // Instants are stored to the millisecond: a fraction names that millisecond.
  const ms = Math.floor(Number(frac) * 1000);
  return utcRange(base + ms, base + ms + 1);
}

function offsetMinutes(tz: string): number {
  const sign = tz.startsWith('-') ? -1 : 1;
  const [hh, mm] = tz.slice(1).split(':').map(Number);
  return sign * ((hh ?? 0) * 60 + (mm ?? 0));
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function utcRange(start: number, end: number): InstantRange {
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
}
