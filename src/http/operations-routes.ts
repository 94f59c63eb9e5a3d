/**
 * The operator's routes beside the FHIR API: GET /health (alive: the process answers), GET /ready
 * (the database answers, migrations are applied, the seed is loaded: 200, else 503 naming the check
 * that failed) and GET /metrics (Prometheus text; behind a bearer token when METRICS_TOKEN is set).
 * While the directory starts, server.ts answers /health and /ready itself (alive, not ready).
 */
import type { Express, Request, Response } from 'express';
import type { Readiness } from '../observability/readiness';
import { serveMetrics, type MetricsSource } from './metrics';
import { routeTo } from './request-context';

export const HEALTH_BODY = JSON.stringify({ status: 'ok' });

export interface OperationsOptions {
  readiness: () => Promise<Readiness>;
  /** The registry, or with WORKERS > 1 the whole cluster's metrics (workers/cluster-metrics.ts). */
  metrics: MetricsSource;
  /** METRICS_TOKEN: when set, /metrics answers only `Authorization: Bearer <it>`. */
  metricsToken?: string;
}

/** A probe's answer: JSON, never stored by a cache (it is about this moment). */
export function sendProbe(res: Response, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

export function addOperationsRoutes(app: Express, options: OperationsOptions): void {
  app.get('/health', (_req: Request, res: Response) => {
    routeTo(res, '/health');
    sendProbe(res, 200, HEALTH_BODY);
  });
  app.get('/ready', async (_req: Request, res: Response) => {
    routeTo(res, '/ready');
    const readiness = await options.readiness();
    sendProbe(res, readiness.status === 'ready' ? 200 : 503, JSON.stringify(readiness));
  });
  const metrics = serveMetrics(options.metrics, options.metricsToken);
  app.get('/metrics', (req: Request, res: Response) => {
    routeTo(res, '/metrics');
    res.setHeader('cache-control', 'no-store');
    return metrics(req, res);
  });
}
