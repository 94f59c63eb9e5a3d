/**
 * FHIR dates as ranges of instants (search.html#date): `2024` is all of 2024, `2024-05-01T10:00Z`
 * is that minute. Values without a time zone are read as UTC.
 *
 * Years are FHIR's, 0001 to 9999 (datatypes.html#date), taken as written: `Date.UTC` reads years 0-99
 * as 1900-1999, so the instants are built with `setUTCFullYear`. A range end past the last instant
 * of 9999 (the end of year 9999 itself) is `infinity`, which PostgreSQL stores and compares as a
 * timestamptz, where `+010000-01-01…` (what `toISOString` writes) is an error; a start that a time
 * zone pushes past either edge is clamped (`9999-12-31T23:00:00-05:00` starts at the last instant of
 * 9999; `0001-01-01T00:30:00+01:00` at `-infinity`).
 */
import { invalid } from './errors';
import type { InstantRange } from '../storage/search-query';

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The first instant of year 1 and of year 10000. */
const FIRST_INSTANT = utcInstant(1, 1, 1);
const PAST_LAST_INSTANT = utcInstant(10000, 1, 1);

export function parseDateRange(value: string, parameter: string): InstantRange {
  const m = DATE_PATTERN.exec(value);
  if (!m) throw invalid(`${parameter}: '${value}' is not a FHIR date, dateTime or instant`, parameter);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  if (year < 1) throw invalid(`${parameter}: year out of range in '${value}' (0001 to 9999)`, parameter);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12))
    throw invalid(`${parameter}: month out of range`, parameter);
  if (day !== undefined && month !== undefined && (day < 1 || day > daysIn(year, month))) {
    throw invalid(`${parameter}: day out of range in '${value}'`, parameter);
  }
  if (month === undefined) return utcRange(utcInstant(year, 1, 1), utcInstant(year + 1, 1, 1));
  if (day === undefined) return utcRange(utcInstant(year, month, 1), utcInstant(year, month + 1, 1));
  if (h === undefined) return utcRange(utcInstant(year, month, day), utcInstant(year, month, day + 1));
  const hours = Number(h);
  const minutes = Number(mi);
  const seconds = s === undefined ? undefined : Number(s);
  if (hours > 23 || minutes > 59 || (seconds ?? 0) > 59)
    throw invalid(`${parameter}: time out of range`, parameter);
  if (tz !== undefined && tz !== 'Z' && !validOffset(tz))
    throw invalid(`${parameter}: time zone out of range in '${value}'`, parameter);
  const offsetMs = tz === undefined || tz === 'Z' ? 0 : offsetMinutes(tz) * 60_000;
  const base = utcInstant(year, month, day, hours, minutes, seconds ?? 0) - offsetMs;
  if (seconds === undefined) return utcRange(base, base + 60_000);
  if (frac === undefined) return utcRange(base, base + 1000);
  // Instants are stored to the millisecond: a fraction names that millisecond.
  const ms = Math.floor(Number(frac) * 1000);
  return utcRange(base + ms, base + ms + 1);
}

/** Milliseconds since the epoch of a UTC date and time, any year (months and days past the end roll over). */
function utcInstant(year: number, month: number, day: number, hours = 0, minutes = 0, seconds = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hours, minutes, seconds, 0);
  return date.getTime();
}

/** FHIR's time zones run from -12:00 to +14:00 (datatypes.html#dateTime's regex allows 00-13 hours and 14:00). */
function validOffset(tz: string): boolean {
  const [hh = 0, mm = 0] = tz.slice(1).split(':').map(Number);
  return mm <= 59 && (hh < 14 || (hh === 14 && mm === 0));
}

function offsetMinutes(tz: string): number {
  const sign = tz.startsWith('-') ? -1 : 1;
  const [hh, mm] = tz.slice(1).split(':').map(Number);
  return sign * ((hh ?? 0) * 60 + (mm ?? 0));
}

function daysIn(year: number, month: number): number {
  return new Date(utcInstant(year, month + 1, 0)).getUTCDate();
}

/** [start, end) as timestamptz text, each end clamped to what PostgreSQL reads (see above). */
function utcRange(start: number, end: number): InstantRange {
  return {
    start:
      start < FIRST_INSTANT ? '-infinity' : new Date(Math.min(start, PAST_LAST_INSTANT - 1)).toISOString(),
    end: end >= PAST_LAST_INSTANT ? 'infinity' : new Date(Math.max(end, FIRST_INSTANT)).toISOString(),
  };
}
