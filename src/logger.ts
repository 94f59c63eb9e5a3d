/** JSON-lines logs (pino); secrets redacted. */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'fhir-directory' },
      redact: ['req.headers.authorization', 'headers.authorization', 'token', 'password'],
    },
    destination,
  );
}
