/** Runs the built program (dist/) as a separate process, the way a user runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';

export const ROOT = join(__dirname, '..', '..');

export interface SpawnedServer {
  child: ChildProcess;
  baseUrl: string;
  logLines: () => Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Environment for a child: embedded store in `dataDir`, or a fresh PostgreSQL schema when DATABASE_URL is set. */
export async function childDatabaseEnv(
  dataDir: string,
): Promise<{ env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }> {
  const base: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete base.DATABASE_URL;
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) return { env: base, cleanup: () => Promise.resolve() };
  const schema = `cli_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    env: { ...base, DATABASE_URL: url.toString() },
    cleanup: async () => {
      const c = new Client({ connectionString: databaseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export function startBuiltServer(env: NodeJS.ProcessEnv): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (parsed.msg === 'fhir-directory listening') {
            clearTimeout(timer);
            resolve({
              child,
              baseUrl: parsed.baseUrl as string,
              logLines: () => lines,
              stop: (signal = 'SIGTERM') =>
                new Promise((done) => {
                  child.removeAllListeners('exit');
                  child.once('exit', (code) => done(code));
                  child.kill(signal);
                }),
            });
          }
        } catch {
          // not a log line
        }
      }
    });
  });
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close', not 'exit': the output may still be in the pipes when the process has exited.
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
