/** One version of one resource as the store hands it out: what reads, searches and history return. */
export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One version of one resource as stored. `content` is the JSON text served to clients. */
export interface VersionRecord {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO 8601 instant with milliseconds, from the database clock. */
  lastUpdated: string;
  deleted: boolean;
  /** The global change sequence number of this version. */
  seq: number;
  method: WriteMethod;
  /** Absent for a deletion. */
  content?: string;
}
