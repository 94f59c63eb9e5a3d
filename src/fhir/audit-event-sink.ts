/**
 * The SecurityEventSink the directory runs with: it keeps every security event as an AuditEvent
 * (audit-event.ts), written in the background in small batches, never inside the request that
 * reported it. So a flood of refused requests costs each of them one push onto a bounded buffer, and
 * never waits for the write lock: a batch (at most `batchSize` events, one write transaction) is
 * written once `batchSize` events wait or `flushMs` after the first of them arrived. Past
 * `maxBuffered` waiting events the newest are dropped and counted, and the count is logged as a
 * warning when the next batch is written; a batch the database refuses is dropped the same way.
 * close() writes what is still waiting.
 *
 * AuditEvents are the directory's own records: written on the raw store, they record no Provenance.
 */
import { randomUUID } from 'node:crypto';
import type { SecurityEvent, SecurityEventSink } from '../security/security-events';
import type { NewVersion, ResourceStore } from '../storage/resource-store';
import { auditEventOf } from './audit-event';
import { extractIndexRows } from './search/extract-index';

/** Where the sink reports what it could not keep (a pino logger fits). */
export interface AuditLog {
  warn(details: object, message: string): void;
}

export interface AuditEventSinkOptions {
  /** Events per write transaction, and how many waiting events start one at once (100). */
  batchSize?: number;
  /** The longest an event waits before its batch is written, in ms (1000). */
  flushMs?: number;
  /** Events that may wait at once; more are dropped and counted (1000). */
  maxBuffered?: number;
  log?: AuditLog;
}

export class AuditEventSink implements SecurityEventSink {
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly maxBuffered: number;
  private readonly log: AuditLog | undefined;
  private waiting: SecurityEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Dropped since the last warning. */
  private droppedUnreported = 0;
  /** Dropped since the sink started (buffer full, batch refused, or recorded after close). */
  dropped = 0;
  /** Stored as AuditEvents since the sink started. */
  written = 0;

  constructor(
    private readonly store: Pick<ResourceStore, 'write'>,
    private readonly baseUrl: string,
    options: AuditEventSinkOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.flushMs = options.flushMs ?? 1000;
    this.maxBuffered = options.maxBuffered ?? 1000;
    this.log = options.log;
  }

  record(event: SecurityEvent): void {
    if (this.closed || this.waiting.length >= this.maxBuffered) {
      this.drop(1);
      return;
    }
    this.waiting.push(event);
    if (this.waiting.length >= this.batchSize) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs).unref();
  }

  /** Writes every waiting event now; resolves once they are stored (or dropped). Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /** Takes no more events, and writes those waiting. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.batchSize);
      try {
        await this.writeBatch(batch);
        this.written += batch.length;
      } catch (err) {
        this.log?.warn({ err, events: batch.length }, 'security events could not be stored as AuditEvents');
        this.drop(batch.length);
      }
    }
    if (this.droppedUnreported > 0) {
      this.log?.warn(
        { dropped: this.droppedUnreported, maxBuffered: this.maxBuffered },
        'security events dropped: more arrived than could be stored',
      );
      this.droppedUnreported = 0;
    }
  }

  private drop(count: number): void {
    this.dropped += count;
    this.droppedUnreported += count;
  }

  /** One write transaction; the AuditEvents and their index rows are made before it takes the lock. */
  private async writeBatch(events: SecurityEvent[]): Promise<void> {
    const versions: NewVersion[] = events.map((event) => {
      const resource = auditEventOf(event);
      return {
        resourceType: 'AuditEvent',
        id: randomUUID(),
        method: 'POST',
        resource,
        index: extractIndexRows(resource, this.baseUrl),
      };
    });
    await this.store.write(async (session) => {
      for (const version of versions) await session.writeVersion(version);
    });
  }
}
