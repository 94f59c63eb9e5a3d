#!/usr/bin/env node
/** `fhir-directory <command>`: serve, import, migrate, token. Built from the same factories as main.ts. */
import { ConfigError } from '../config';
import { processIo, type CliIo } from './cli-io';
import { runImport } from './import-command';
import { runBuildProfiles } from './build-profiles-command';
import { runClients } from './clients-command';
import { runDiscover } from './discover-command';
import { exitWhenFlushed, ignoreClosedPipes } from './exit-when-flushed';
import { runMigrate } from './migrate-command';
import { runReindex } from './reindex-command';
import { runSync } from './sync-command';
import { runSources } from './sources-command';
import { runToken } from './token-command';
import { main as serve } from '../main';

const USAGE = `Usage: fhir-directory <command> [options]

Commands:
  serve                       Start the FHIR server (the same as npm start)
  import <file> [--dry-run] [--chunk-size N] [--source hti1|nppes-endpoints|lantern-list|epic|cerner|fhir]
         [--name NAME] [--report FILE] [--delete-missing] [--adopt] [--verbose]
                              Load a FHIR Bundle (.json) or NDJSON (.ndjson) file in transactional chunks;
                              published endpoint lists (any service-base-URL Bundle, Epic's, Cerner's,
                              Lantern's, the CMS NPPES endpoint CSV, streamed) are recognised by shape, normalized and imported as a source (NAME, default
                              the file's name) that owns its entries: a newer publication applies the
                              difference and retires (or deletes) what it no longer lists.
                              Prints each rejected resource (element and reason), what was normalized,
                              the quality findings and the counts (--report FILE: as JSON); exits 1 if
                              anything was rejected. --dry-run writes nothing; --adopt first hands the
                              entries imported before sources existed (same identifier) to the source
  sources [--json]            List the sources: uri, last import, counts, last quality report
  migrate                     Apply pending schema migrations and exit
  reindex [--type T]          Rebuild the search indexes (all types, or one)
  sync --from BASE [--name NAME] [--auth none|header:NAME=VALUE|query:NAME=VALUE|smart:CLIENT_ID:KEY_FILE[:TOKEN_URL]]
       [--cert FILE --key FILE] [--ca FILE] [--types Organization,Endpoint] [--once | --interval 5m]
                              Follow another FHIR directory: a full copy, then its changes (type-level
                              _history?_since=), or a full comparison when it has no history. Progress on
                              stderr, a summary per pass on stdout. Exits 0 (all copied), 1 (rejections or
                              conflicts), 3 (a pass stopped short), 4 (another process holds the source)
  build-profiles              Regenerate the profile snapshots in profiles/ from profiles/source/
  clients <action> ...        Register and manage machine-to-machine clients: add, list, show, disable,
                              enable, rotate-key, remove-key, set-scopes (fhir-directory clients help)
  token --client-id ID --key KEY.json [--scope "…"] [--url BASE]
                              Get an access token from a running directory (SMART Backend Services:
                              a client assertion signed with the private JWK); prints only the token.
                              BASE defaults to http://localhost:8080/fhir; scope, to all the client may have
  discover [--endpoint ID] [--concurrency N]
                              Check every active FHIR REST Endpoint (or one) now: fetch its
                              CapabilityStatement, SMART configuration and UDAP metadata, keep the check
                              and update the Endpoint's discovery summary (see README.md)
  help                        Show this help

Configuration comes from environment variables (DATABASE_URL, DATA_DIR, ...): see README.md.
An invalid configuration is reported on stderr and exits 2, as the server does.
`;

async function run(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      // The server reads the process's own environment and signals: only as a process of its own.
      await serve();
      return -1; // keeps running until a signal
    case 'import':
      return runImport(rest, io);
    case 'sources':
      return runSources(rest, io);
    case 'migrate':
      return runMigrate(io);
    case 'reindex':
      return runReindex(rest, io);
    case 'sync':
      return runSync(rest, io);
    case 'build-profiles':
      return runBuildProfiles(io);
    case 'clients':
      return runClients(rest, io);
    case 'token':
      return runToken(rest, io);
    case 'discover':
      return runDiscover(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return 0;
    default:
      io.stderr.write(`Unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

/** What the process exits with when a command throws: 2 for a configuration error (as the server), else 1. */
function failure(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError) {
    io.stderr.write(`${err.message}\n`);
    return 2;
  }
  io.stderr.write(`fhir-directory: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

/**
 * Runs `fhir-directory <argv>` with `io` and resolves with its exit status (-1 for `serve`, which
 * runs until a signal): the process below, and tests that run a command in-process (cli-io.ts).
 */
export function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  return run(argv, io).catch((err: unknown) => failure(err, io));
}

if (require.main === module) {
  ignoreClosedPipes();
  void runCli(process.argv.slice(2)).then(async (code) => {
    // `serve` keeps running until a signal; every other command exits once its output is out.
    if (code >= 0) await exitWhenFlushed(code);
  });
}
