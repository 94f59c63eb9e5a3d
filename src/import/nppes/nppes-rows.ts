/**
 * The CMS NPPES endpoint file (`endpoint_pfile_*.csv`): 19 quoted columns, one row per NPI and
 * endpoint (NPPES Data Dissemination Readme, Exhibit 2-4). Read as a stream with csv-parse, so a
 * 120 MB file is never held whole; each row keeps its line number for the report.
 */
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';

export const NPPES_COLUMNS = [
  'NPI',
  'Endpoint Type',
  'Endpoint Type Description',
  'Endpoint',
  'Affiliation',
  'Endpoint Description',
  'Affiliation Legal Business Name',
  'Use Code',
  'Use Description',
  'Other Use Description',
  'Content Type',
  'Content Description',
  'Other Content Description',
  'Affiliation Address Line One',
  'Affiliation Address Line Two',
  'Affiliation Address City',
  'Affiliation Address State',
  'Affiliation Address Country',
  'Affiliation Address Postal Code',
] as const;

export interface NppesRow {
  /** The row's first line in the file (the header is line 1). */
  line: number;
  npi: string;
  type: string;
  typeDescription: string;
  endpoint: string;
  affiliation: string;
  endpointDescription: string;
  affiliationName: string;
  useCode: string;
  useDescription: string;
  otherUse: string;
  contentType: string;
  contentDescription: string;
  otherContent: string;
  line1: string;
  line2: string;
  city: string;
  state: string;
  country: string;
  postalCode: string;
  /** How many columns the row had, when not 19. */
  columns?: number;
}

/** Whether the text starts with the NPPES endpoint file's header (the first two column names suffice). */
export function isNppesHeader(start: string): boolean {
  return /^\uFEFF?"?NPI"?,"?Endpoint Type"?,/.test(start);
}

/** The rows after the header; throws when the header is not the NPPES endpoint file's. */
export async function* nppesRows(input: Readable): AsyncGenerator<NppesRow> {
  const parser = input.pipe(parse({ bom: true, relax_column_count: true, info: true, trim: false }));
  let header = true;
  for await (const { record, info } of parser as AsyncIterable<{
    record: string[];
    info: { lines: number };
  }>) {
    if (header) {
      header = false;
      if (record[0] !== 'NPI' || record[1] !== 'Endpoint Type')
        throw new Error(
          `not an NPPES endpoint file: the header starts ${JSON.stringify(record.slice(0, 2))}`,
        );
      continue;
    }
    const c = (i: number): string => (record[i] ?? '').trim();
    const row: NppesRow = {
      line: info.lines,
      npi: c(0),
      type: c(1).toUpperCase(),
      typeDescription: c(2),
      endpoint: c(3),
      affiliation: c(4).toUpperCase(),
      endpointDescription: c(5),
      affiliationName: c(6),
      useCode: c(7),
      useDescription: c(8),
      otherUse: c(9),
      contentType: c(10),
      contentDescription: c(11),
      otherContent: c(12),
      line1: c(13),
      line2: c(14),
      city: c(15),
      state: c(16),
      country: c(17),
      postalCode: c(18),
    };
    if (record.length !== NPPES_COLUMNS.length) row.columns = record.length;
    yield row;
  }
}
