/**
 * Ends the CLI process only once everything it wrote has left it. `process.exit` does not wait for
 * stdout: to a pipe (`fhir-directory import FILE | tail`) a long report is written asynchronously
 * once the pipe's buffer is full, and exiting straight away cut it off mid-line. A write's callback
 * runs once that write and every one before it is handed to the operating system, so an empty write
 * on each stream marks the end of what the command printed.
 */
import type { Writable } from 'node:stream';

/** Resolves once what was written to `stream` so far is flushed, or the reader has gone (EPIPE). */
function flushed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) {
      resolve();
      return;
    }
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

/** A reader that stops early (`| head`) closes the pipe: what is left is not wanted, and no crash. */
export function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
}

export async function exitWhenFlushed(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
