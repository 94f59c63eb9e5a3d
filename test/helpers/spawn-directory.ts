/** Runs the built program (dist/) as a separate process, the way a user runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { TEMPLATE_VARIABLE } from './pglite-template';

export const ROOT = join(__dirname, '..', '..');

/**
 * Children still running when their test file ends: a test that timed out (a loaded machine) leaves
 * its CLI command or server running, and the child's pipes keep the jest worker alive ("A worker
 * process has failed to exit gracefully"). They are killed after the file's last test.
 */
const running = new Set<ChildProcess>();
function tracked<C extends ChildProcess>(child: C): C {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

export interface SpawnedServer {
  child: ChildProcess;
  /** The FHIR base URL the server names itself by (BASE_URL when set). */
  baseUrl: string;
  /** Where this process really listens (`http://127.0.0.1:PORT`), whatever BASE_URL says. */
  origin: string;
  logLines: () => Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Environment for a child: embedded store in `dataDir`, or a fresh PostgreSQL schema when
 * DATABASE_URL is set. `migrated`: on PGlite, `dataDir` starts as a copy of the run's migrated
 * template (pglite-template.ts), so the first command does not pay for initdb and the migrations
 * (for files that do not test them); without a template (a run without globalSetup), it starts empty.
 */
export async function childDatabaseEnv(
  dataDir: string,
  options: { migrated?: boolean } = {},
): Promise<{ env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }> {
  const base: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete base.DATABASE_URL;
  const databaseUrl = process.env.DATABASE_URL;
  const template = process.env[TEMPLATE_VARIABLE];
  if (!databaseUrl && options.migrated && template) cpSync(template, dataDir, { recursive: true });
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

/**
 * How long a start may take: migrations and seeding 966 resources take a few seconds on an idle
 * machine, but the suite shares two cores with other work and a start once took over 60 s there.
 * A start that takes longer is a failure, reported with the server's stderr and last log lines.
 */
export const START_DEADLINE_MS = 150_000;

/** Polls `url` until it answers 200 or `deadline` (Date.now() ms) passes; true when it answered. */
async function answersBy(url: string, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // not accepting connections yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/**
 * Starts dist/main.js and resolves once it has logged that it listens and its /health answers 200,
 * within START_DEADLINE_MS; otherwise kills it and rejects with what it said.
 */
export function startBuiltServer(env: NodeJS.ProcessEnv): Promise<SpawnedServer> {
  const child = tracked(
    spawn(process.execPath, [join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { ...env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const deadline = Date.now() + START_DEADLINE_MS;
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const said = (): string =>
    `stderr: ${stderr}\nlast log lines: ${lines
      .slice(-5)
      .map((l) => JSON.stringify(l))
      .join('\n')}`;
  const server = (baseUrl: string, origin: string): SpawnedServer => ({
    child,
    baseUrl,
    origin,
    logLines: () => lines,
    stop: (signal = 'SIGTERM') =>
      new Promise((done) => {
        child.removeAllListeners('exit');
        child.once('exit', (code) => done(code));
        child.kill(signal);
      }),
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const fail = (why: string): void => {
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      reject(new Error(`${why}\n${said()}`));
    };
    const timer = setTimeout(
      () => fail(`server did not start in ${START_DEADLINE_MS} ms`),
      START_DEADLINE_MS,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}\n${said()}`));
    });
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue; // not a log line
        }
        lines.push(parsed);
        if (parsed.msg !== 'fhir-directory listening') continue;
        clearTimeout(timer);
        const baseUrl = parsed.baseUrl as string;
        const origin = `http://127.0.0.1:${String(parsed.port)}`;
        void answersBy(`${origin}/health`, deadline).then((ready) =>
          ready
            ? resolve(server(baseUrl, origin))
            : fail(`server logged that it listens but /health never answered`),
        );
      }
    });
  });
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = tracked(
      spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), ...args], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close', not 'exit': the output may still be in the pipes when the process has exited.
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
