/**
 * How the SQL layer's pacing tells clients apart from a request's arrival, before the request is
 * authenticated (statement-owner.ts): its remote address and its Authorization header as sent. One
 * client's parallel requests share a key; two clients behind one address differ by their tokens (a
 * client holding two tokens counts as two, which only ever paces it a little more).
 */
import type { IncomingMessage } from 'node:http';

export function arrivalKeyOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? ''} ${req.headers.authorization ?? ''}`;
}
