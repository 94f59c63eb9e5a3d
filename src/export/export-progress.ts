/**
 * A job's counting pass, as saved in `export_job.progress` after every page: the type it is on,
 * the last change sequence counted there, and the counts of the types done so far. A process that
 * takes the job over (after a restart) goes on from here.
 */
export interface TypeCount {
  resources: number;
  deleted: number;
}

export interface ExportProgress {
  /** Index into the job's types of the type being counted (= types.length when all are done). */
  typeIndex: number;
  /** The last change sequence counted in that type. */
  afterSeq: number;
  counts: Record<string, TypeCount>;
}

export const START: ExportProgress = { typeIndex: 0, afterSeq: 0, counts: {} };

export function readProgress(text: string): ExportProgress {
  return { ...START, ...(JSON.parse(text) as Partial<ExportProgress>) };
}

/** `X-Progress` (export.html: free text): where the job is, in words. */
export function describeProgress(types: string[], progress: ExportProgress): string {
  const counted = Object.values(progress.counts).reduce((n, c) => n + c.resources + c.deleted, 0);
  const type = types[progress.typeIndex];
  return type === undefined
    ? `counted ${counted} entries`
    : `counting ${type} (type ${progress.typeIndex + 1} of ${types.length}); ${counted} entries counted`;
}
