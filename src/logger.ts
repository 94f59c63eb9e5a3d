/** JSON-lines logs (pino); secrets redacted. */
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      // The pid tells the processes apart when WORKERS runs several (their lines share one stdout).
      base: { service: 'fhir-directory', pid: process.pid },
      redact: ['req.headers.authorization', 'headers.authorization', 'token', 'password'],
    },
    destination,
  );
}
