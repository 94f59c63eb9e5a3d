/**
 * The directory's HTTP server: listening from the start, answering 503 until the application is
 * ready (but /health 200: the process is alive), then every request through the hit lane and on to
 * the express application. Malformed
 * requests node itself refuses are answered as FHIR errors too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FhirContext } from '../fhir/context';
import { issue, outcomeOf } from '../fhir/errors';
import type { Logger } from '../logger';
import { STARTING } from '../observability/readiness';
import { requestArrived } from '../storage/statement-owner';
import { arrivalKeyOf } from './arrival-key';
import { withHitLane } from './hit-lane';
import type { RequestMetrics } from './metrics';
import { HEALTH_BODY } from './operations-routes';
import { SECURITY_HEADERS, securityHeaders } from './security-headers';
import { FHIR_JSON } from './send-result';

const STARTING_OUTCOME = JSON.stringify(
  outcomeOf([
    issue('transient', 'The directory is starting (loading definitions and seed data); retry shortly'),
  ]),
);

const STARTING_READINESS = JSON.stringify(STARTING);

/** `/health` or `/ready` as express would route them (any case, one trailing slash, any query). */
function probeOf(url: string | undefined): 'health' | 'ready' | undefined {
  const mark = (url ?? '').indexOf('?');
  const path = (mark < 0 ? (url ?? '') : (url ?? '').slice(0, mark)).toLowerCase().replace(/\/$/, '');
  return path === '/health' ? 'health' : path === '/ready' ? 'ready' : undefined;
}

/**
 * While starting: alive (/health 200) but not ready (/ready 503, saying so); anything else 503 with
 * Retry-After, as an OperationOutcome.
 */
function answerStarting(req: IncomingMessage, res: ServerResponse): void {
  securityHeaders(res);
  const probe = probeOf(req.url);
  if (probe) {
    res.writeHead(probe === 'health' ? 200 : 503, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(probe === 'health' ? HEALTH_BODY : STARTING_READINESS);
    return;
  }
  res.writeHead(503, { 'content-type': FHIR_JSON, 'retry-after': '5' });
  res.end(STARTING_OUTCOME);
}

/** What node answers a request it cannot parse (its own choice of status), as an OperationOutcome. */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code]: [number, string, 'too-long' | 'timeout' | 'invalid'] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'too-long']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'timeout']
        : [400, 'Bad Request', 'invalid'];
  const body = JSON.stringify(outcomeOf([issue(code, `The request could not be read: ${reason}`)]));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: ${FHIR_JSON}\r\n` +
      Object.entries(SECURITY_HEADERS)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface DirectoryServer {
  server: Server;
  address: AddressInfo;
  /** From now on, requests go through the hit lane (counted into `metrics`) to `app` instead of the 503. */
  serve(
    ctx: FhirContext,
    logger: Logger,
    app: (req: IncomingMessage, res: ServerResponse) => void,
    metrics?: RequestMetrics,
  ): void;
}

/** Listens on `port` (0: any free one) and `host`, answering 503 until serve() is called. */
export async function listen(port: number, host: string): Promise<DirectoryServer> {
  const server = createServer();
  server.keepAliveTimeout = 5000;
  // Every request counts as under way until it is answered or abandoned (owner-pacing.ts asks).
  server.on('request', (req: IncomingMessage, res: ServerResponse) =>
    res.once('close', requestArrived(arrivalKeyOf(req))),
  );
  server.on('request', answerStarting);
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    serve(ctx, logger, app, metrics) {
      server.off('request', answerStarting);
      server.on('request', withHitLane(ctx, logger, app, metrics));
    },
  };
}
