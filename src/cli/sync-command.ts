/**
 * `fhir-directory sync --from BASE …`: follows another FHIR directory into this one's database, once
 * or every --interval, with a progress line on stderr and each pass's summary on stdout.
 *
 * Exit codes: 0 every pass went to its end and nothing was rejected or in conflict; 1 something was
 * rejected or in conflict (the rest was copied); 3 a pass stopped short (the source failed after the
 * retries, or sent a malformed page: the checkpoint stays before it); 4 another process is running a
 * pass of this source (its lease is held); 2 bad usage or configuration.
 */
import { loadConfig } from '../config';
import { createFhirContext, openStore } from '../directory';
import { createLogger } from '../logger';
import type { PassSummary } from '../sync/follow-source';
import { runSourcePass } from '../sync/run-source';
import { parseSource, type SyncSourceSettings } from '../sync/source-settings';
import type { CliIo } from './cli-io';

const USAGE = `Usage: fhir-directory sync --from BASE [--name NAME]
         [--auth none|header:NAME=VALUE|query:NAME=VALUE|smart:CLIENT_ID:KEY_FILE[:TOKEN_URL]]
         [--cert FILE --key FILE] [--ca FILE] [--types Organization,Endpoint] [--once | --interval 5m]
         [--overlap 5s] [--export yes|no]
`;

export const SYNC_EXIT = { ok: 0, problems: 1, usage: 2, incomplete: 3, busy: 4 } as const;

const OPTIONS = new Set([
  '--from',
  '--name',
  '--auth',
  '--cert',
  '--key',
  '--ca',
  '--types',
  '--interval',
  '--overlap',
  '--export',
]);

function parseArgs(args: string[]): { settings: SyncSourceSettings } | { problems: string[] } {
  const raw: Record<string, string> = {};
  let once = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--once') {
      once = true;
      continue;
    }
    const value = args[i + 1];
    if (!OPTIONS.has(arg) || value === undefined)
      return { problems: [`unknown option or missing value: ${arg}`] };
    raw[arg.slice(2)] = value;
    i++;
  }
  if (once && raw.interval !== undefined) return { problems: ['--once and --interval exclude each other'] };
  if (raw.from === undefined) return { problems: ['--from BASE is required'] };
  const parsed = parseSource(raw, '--');
  if (!parsed.ok) return { problems: parsed.problems.map((p) => `${p.field}: ${p.message}`) };
  return { settings: parsed.value };
}

export function summaryLine(s: PassSummary): string {
  const counts = `created ${s.created}, updated ${s.updated}, deleted ${s.deleted}, unchanged ${s.unchanged}, rejected ${s.rejected}, conflicts ${s.conflicts}`;
  const types = s.types.map(
    (t) =>
      `${t.type} by ${t.mode} (${t.pages} pages${t.exportFailed ? `; export not used: ${t.exportFailed}` : ''}${
        t.rewound ? `; the source rewound: ${t.rewound}` : ''
      }${t.error ? `; stopped: ${t.error}` : ''})`,
  );
  return `${s.source}: ${counts}; ${types.join('; ')}${s.complete ? '' : ' — INCOMPLETE'}`;
}

function exitCodeOf(s: PassSummary): number {
  if (!s.complete) return SYNC_EXIT.incomplete;
  return s.rejected + s.conflicts > 0 ? SYNC_EXIT.problems : SYNC_EXIT.ok;
}

export async function runSync(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if ('problems' in parsed) {
    io.stderr.write(`${parsed.problems.join('\n')}\n\n${USAGE}`);
    return SYNC_EXIT.usage;
  }
  const { settings } = parsed;
  const config = loadConfig(io.env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, io.log);
  const store = await openStore(config, logger);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const ctx = createFhirContext(store, config.baseUrl ?? `http://localhost:${config.port}/fhir`, {
      enforceProfiles: config.enforceProfiles,
    });
    for (;;) {
      const result = await runSourcePass({
        ctx,
        settings,
        log: logger,
        signal: stop.signal,
        onProgress: ({ type, pages, counts }) =>
          io.stderr.write(
            `\r${settings.name} ${type}: page ${pages}; created ${counts.created}, updated ${counts.updated}, deleted ${counts.deleted}, unchanged ${counts.unchanged}, rejected ${counts.rejected}, conflicts ${counts.conflicts}`,
          ),
        client: {
          onRetry: (what, waitMs, attempt) =>
            io.stderr.write(`\n${what}: retry ${attempt} in ${Math.round(waitMs / 100) / 10} s\n`),
        },
      });
      io.stderr.write('\n');
      if (result.state === 'busy') {
        io.stderr.write(
          `another process is running a pass of ${settings.name}${result.holder ? ` (${result.holder})` : ''}\n`,
        );
        if (settings.intervalMs === undefined) return SYNC_EXIT.busy;
      } else {
        io.stdout.write(`${summaryLine(result.summary)}\n`);
        for (const p of result.summary.problems) io.stdout.write(`  ${p.kind}: ${p.entry}: ${p.reason}\n`);
        if (settings.intervalMs === undefined || stop.signal.aborted) return exitCodeOf(result.summary);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.intervalMs);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (stop.signal.aborted) return SYNC_EXIT.ok;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await store.close();
  }
}
