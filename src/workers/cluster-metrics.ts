/**
 * /metrics for the whole server when WORKERS > 1: a scrape reaches one worker (the primary hands out
 * connections), so that worker asks the primary, which asks every worker for its registry's values
 * (prom-client's AggregatorRegistry, over the cluster's IPC channel) and answers with them combined:
 * counters and histograms added up, gauges as each metric's aggregator says (http/metrics.ts). The
 * primary itself serves nothing and opens no database, so it has no series of its own.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsSource } from '../http/metrics';

const REQUEST = 'fhir-directory:metrics-request';
const ANSWER = 'fhir-directory:metrics-answer';

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

interface MetricsAnswer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** The workers answer within this, or the scrape fails (prom-client's own limit is 5 s). */
export const CLUSTER_METRICS_TIMEOUT_MS = 6_000;

const isRequest = (m: unknown): m is MetricsRequest =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === REQUEST;
const isAnswer = (m: unknown): m is MetricsAnswer =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === ANSWER;

/** In the primary: answers every worker's request with the aggregate of all workers' metrics. */
export function answerMetricsRequests(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    const reply = (answer: Omit<MetricsAnswer, 'type' | 'id'>): void => {
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...answer });
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/**
 * In a worker: offers `registry` to the primary's aggregation, and returns the source /metrics reads,
 * which asks the primary for the whole server's metrics.
 */
export function clusterMetricsSource(registry: Registry): MetricsSource {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one adds prom-client's listener that answers the primary with this worker's values.
  void new AggregatorRegistry();
  let nextId = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on('message', (message: unknown) => {
    if (!isAnswer(message)) return;
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    if (message.text !== undefined) waiting.resolve(message.text);
    else waiting.reject(new Error(`the primary could not collect the workers' metrics: ${message.error}`));
  });
  return {
    contentType: registry.contentType,
    metrics: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(
            new Error(
              `the primary did not answer with the workers' metrics within ${CLUSTER_METRICS_TIMEOUT_MS} ms`,
            ),
          );
        }, CLUSTER_METRICS_TIMEOUT_MS);
        pending.set(id, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
      }),
  };
}
