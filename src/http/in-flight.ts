/**
 * How many requests the HTTP server is answering right now, whichever path answers them (the hit
 * lane or express): background work that can wait (the capability-discovery crawl) gives way while
 * it is above zero.
 */
import type { Server } from 'node:http';

/** Counts the server's requests from arrival until their response is finished or abandoned. */
export function countInFlight(server: Server): () => number {
  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
  });
  return () => inFlight;
}
