/**
 * Runs a `fhir-directory` command in this process (src/cli/index.ts `runCli`, the function the built
 * CLI's process runs), with its own environment and its output collected: the same parsing, config,
 * store and exit status as `runCli` of spawn-directory.ts, without a Node start-up and the FHIR
 * definitions' loading per command (1-2 s of CPU each, most of the suite's CPU once). Spawn the built
 * CLI where the process is what a test is about: exit through a pipe, signals and kills, start-up,
 * settings read only at process start (NODE_EXTRA_CA_CERTS), another process holding the store.
 */
import { runCli } from '../../src/cli';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCliInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  if (args[0] === 'serve') throw new Error("'serve' runs only as a process of its own (startBuiltServer)");
  let stdout = '';
  let stderr = '';
  const out = { write: (text: string): void => void (stdout += text) };
  // The commands' loggers write to stdout, as pino does in the process.
  const code = await runCli(args, {
    env,
    stdout: out,
    stderr: { write: (text: string): void => void (stderr += text) },
    log: out,
  });
  return { code, stdout, stderr };
}
