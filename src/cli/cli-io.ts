/**
 * What a CLI command reads and writes: its environment and its two output streams. The process
 * entry (index.ts) passes the process's own; a test passes its own to run a command in its own
 * process, through the same code, without paying a Node start-up (and the FHIR definitions'
 * loading) per command: the suite ran the built CLI hundreds of times, most of its CPU.
 */
import type { DestinationStream } from 'pino';

/** Where a command prints: process.stdout or process.stderr, or a test's collector. */
export interface CliOutput {
  write(text: string): unknown;
}

export interface CliIo {
  /** What loadConfig reads. */
  env: NodeJS.ProcessEnv;
  stdout: CliOutput;
  stderr: CliOutput;
  /** Where the commands' loggers write; pino's own stdout destination when absent (the process). */
  log?: DestinationStream;
}

export function processIo(): CliIo {
  return { env: process.env, stdout: process.stdout, stderr: process.stderr };
}
