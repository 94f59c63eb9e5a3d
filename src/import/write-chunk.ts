/**
 * Writes an import's chunk in one database transaction (rolled back on a dry run). When the database
 * refuses it (write-refusal.ts), each unit of work is written again in a transaction of its own, so
 * only what was refused is rejected, with the database's reason.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import type { FhirError } from '../fhir/errors';
import { eventLoopYielder } from '../fhir/event-loop-yield';
import type { WriteActor } from '../fhir/provenance';
import { writeRecorded } from '../fhir/recorded-write';
import type { ResourceKey, WriteSession } from '../storage/resource-store';
import type { WriteEvent } from './write-event';
import { isRefusal } from './write-refusal';

/** Some resources, written in one go inside a chunk's transaction. */
export interface Work {
  size: number;
  /** The resources it writes, when known before it runs: read for the whole chunk in one statement. */
  keys?: ResourceKey[];
  run(session: WriteSession): Promise<WriteEvent[]>;
  /**
   * Optional: the CPU work `run` would do that needs no database (validation, index rows), done
   * ahead, outside the transaction and the write lock; `run` then uses what it left. Must not throw:
   * whatever it could not do, `run` does itself. `verdict`: the validation of `validates`, when a
   * validation thread made it (undefined: valid); absent, prepare validates it itself.
   */
  prepare?(verdict?: { error: FhirError | undefined }): void;
  /** Optional: the one resource prepare() validates first, so that a validation thread may do it. */
  validates?: Resource;
  /** Each of its resources rejected because the database refused their write with `err`. */
  refused(err: unknown): WriteEvent[];
}

/** What an import will do: the work to write, and what was rejected before any writing. */
export interface Plan {
  works: Work[];
  early: WriteEvent[];
}

class DryRunRollback extends Error {}

/**
 * Prepares each work of `chunk` (Work.prepare), giving the event loop back every few milliseconds:
 * run while the previous chunk's statements are at the database, the two overlap (Node validates on
 * one core while PostgreSQL writes on the other). With validation threads (ctx.validationThreads)
 * the chunk's resources are validated there, while this thread writes the previous chunk.
 */
export async function prepareChunk(ctx: FhirContext, chunk: Work[]): Promise<void> {
  const verdicts = new Map<Work, { error: FhirError | undefined }>();
  const threads = ctx.validationThreads;
  if (threads) {
    const validating = chunk.filter((w) => w.prepare && w.validates);
    const errors = await threads.check(validating.map((w) => w.validates as Resource));
    validating.forEach((w, i) => verdicts.set(w, { error: errors[i] }));
  }
  const pause = eventLoopYielder(PREPARE_SLICE_MS);
  for (const work of chunk) {
    work.prepare?.(verdicts.get(work));
    await pause();
  }
}

/** Short slices: the writing chunk's next statement waits at most this long for its turn. */
const PREPARE_SLICE_MS = 2;

export async function writeChunk(
  ctx: FhirContext,
  actor: WriteActor,
  chunk: Work[],
  dryRun: boolean,
): Promise<WriteEvent[]> {
  try {
    return await inOneTransaction(ctx, actor, chunk, dryRun);
  } catch (err) {
    if (!isRefusal(err)) throw err;
    if (chunk.length === 1) return (chunk[0] as Work).refused(err);
  }
  const events: WriteEvent[] = [];
  for (const work of chunk) {
    try {
      events.push(...(await inOneTransaction(ctx, actor, [work], dryRun)));
    } catch (err) {
      if (!isRefusal(err)) throw err;
      events.push(...work.refused(err));
    }
  }
  return events;
}

async function inOneTransaction(
  ctx: FhirContext,
  actor: WriteActor,
  works: Work[],
  dryRun: boolean,
): Promise<WriteEvent[]> {
  let events: WriteEvent[] = [];
  try {
    // The chunk's versions are recorded in its transaction's Provenances (one per activity: provenance.ts).
    await writeRecorded(ctx, actor, async (session) => {
      events = [];
      await session.prefetch(works.flatMap((work) => work.keys ?? []));
      for (const work of works) events.push(...(await work.run(session)));
      if (dryRun) {
        // The rows are sent before the rollback, so a dry run meets the database's refusals too.
        await session.flush();
        throw new DryRunRollback();
      }
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  return events;
}
