/**
 * Validation on worker threads (VALIDATION_THREADS) for the bulk paths: an import's chunks, a sync
 * page, a large transaction Bundle. Validation is most of the CPU a write costs before the lock (base
 * R4 and the profiles, about 1.2 ms a resource); on a thread of its own it runs while the main thread
 * writes the previous chunk. Each thread builds the directory's own validator (validation-thread.ts),
 * so a verdict is exactly the one ctx.validator.assertValid gives: the same FhirError, status and
 * issues. The threads start on the first batch (a directory that never imports in bulk starts none)
 * and do not keep the process alive while idle.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError } from '../errors';
import type { ResourceValidator } from './resource-validator';
import type { ThreadData, ThreadReply, ThreadRequest, ThreadVerdict } from './validation-messages';

export interface ValidationThreads {
  readonly size: number;
  /** Resources validated on the threads so far (the rest of those checked were validated here). */
  readonly threaded: number;
  /**
   * Each resource's verdict, as `validator.assertValid(resource, prefixes[i])` decides it: undefined
   * when valid, else the FhirError it throws. Small batches are validated here, on this thread.
   */
  check(
    resources: readonly Resource[],
    prefixes?: readonly (string | undefined)[],
  ): Promise<(FhirError | undefined)[]>;
  close(): Promise<void>;
}

/** Below this many resources a batch is validated on the calling thread: the messages would cost more. */
export const MIN_THREAD_BATCH = 16;

/**
 * The compiled thread file: beside this one in dist/; under jest (which compiles src/ in memory) the
 * build's copy, since `npm test` builds first.
 */
function threadScript(): string {
  const beside = join(__dirname, 'validation-thread.js');
  return existsSync(beside)
    ? beside
    : join(__dirname, '..', '..', '..', 'dist', 'fhir', 'validation', 'validation-thread.js');
}

interface Pending {
  resolve(verdicts: ThreadVerdict[]): void;
  reject(err: Error): void;
}

/** One thread and its outstanding requests; ref'd only while it has some. */
class ValidationThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: Error | undefined;

  constructor(data: ThreadData) {
    this.worker = new Worker(threadScript(), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (reply: ThreadReply | { ready: true }) => {
      if (!('id' in reply)) return;
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.worker.unref();
      waiting?.resolve(reply.verdicts);
    });
    const fail = (err: Error): void => {
      this.failed = err;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the validation thread exited (${code})`)));
  }

  validate(resources: Resource[], prefixes?: (string | undefined)[]): Promise<ThreadVerdict[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const request: ThreadRequest = { id, resources, ...(prefixes ? { prefixes } : {}) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(request);
    });
  }

  get usable(): boolean {
    return this.failed === undefined;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

export function createValidationThreads(
  size: number,
  validator: ResourceValidator,
  data: ThreadData,
): ValidationThreads {
  let threads: ValidationThread[] = [];
  let closed = false;
  let threaded = 0;
  // A thread that fails is not replaced: the failure (a missing build, memory) would likely repeat.
  const usable = (): ValidationThread[] => {
    if (threads.length === 0) threads = Array.from({ length: size }, () => new ValidationThread(data));
    return threads.filter((t) => t.usable);
  };
  const here = (resource: Resource, prefix?: string): FhirError | undefined => {
    try {
      validator.assertValid(resource, prefix);
      return undefined;
    } catch (err) {
      if (err instanceof FhirError) return err;
      throw err;
    }
  };

  return {
    size,
    get threaded() {
      return threaded;
    },
    async check(resources, prefixes) {
      const running = closed || resources.length < MIN_THREAD_BATCH ? [] : usable();
      if (running.length === 0) return resources.map((r, i) => here(r, prefixes?.[i]));
      const share = Math.ceil(resources.length / running.length);
      const parts = running.map((t, i) => ({ thread: t, from: i * share }));
      const answers = await Promise.all(
        parts.map(async ({ thread, from }) => {
          const part = resources.slice(from, from + share);
          if (part.length === 0) return [];
          try {
            return await thread.validate(part, prefixes?.slice(from, from + share));
          } catch {
            // A thread that died (out of memory, a bug) fails no write: its part is validated here.
            return part.map((): ThreadVerdict => ({ failed: 'the validation thread failed' }));
          }
        }),
      );
      return answers.flat().map((verdict, i) => {
        if (verdict === null) {
          threaded += 1;
          return undefined;
        }
        if ('failed' in verdict) return here(resources[i] as Resource, prefixes?.[i]);
        threaded += 1;
        return new FhirError(verdict.outcome, verdict.status);
      });
    },
    async close() {
      closed = true;
      const closing = threads;
      threads = [];
      await Promise.all(closing.map((t) => t.close()));
    },
  };
}
