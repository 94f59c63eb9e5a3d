'use strict';
/*
 * Starts the built directory in-process for a bench tool (load.js --via-api, one-at-a-time.js,
 * noisy-neighbour.js), configured as the server really runs: the statement and acquire timeouts, the
 * request limits and the body limit come from the environment through the server's own loadConfig
 * (their defaults when unset); the store, port, cache and seed are the tool's.
 *
 * The store is opened here rather than by startDirectory so that the tool keeps the SQL client: to
 * watch the planner's statistics (pg_stat_user_tables), to run EXPLAIN, and, when asked, to record
 * the statements the store sends (the port between the store and the database is small: wrapping
 * its query() sees every search, include, read and history statement; write transactions and
 * VACUUM go through transaction() and maintenance(), which are not recorded).
 */
const { requireDist } = require('./common');

/** The server's configuration from the environment (loadConfig), as `fhir-directory serve` reads it. */
function serverConfig() {
  const { loadConfig } = requireDist('config');
  return loadConfig(process.env);
}

/**
 * Opens and migrates the store. `record: true` wraps the SQL client's query() so that
 * `recorder.start()` … `recorder.stop()` returns the statements sent in between ({ text, params }).
 */
async function openBenchStore(storeOptions, { record = false } = {}) {
  const { openSqlClient } = requireDist('storage/open-sql-client');
  const { migrate } = requireDist('storage/migrations/index');
  const { createPostgresStore } = requireDist('storage/postgres-store');
  const config = serverConfig();
  const db = await openSqlClient({
    databaseUrl: storeOptions.databaseUrl,
    dataDir: storeOptions.dataDir,
    statementTimeoutMs: config.statementTimeoutMs,
    dbAcquireTimeoutMs: config.dbAcquireTimeoutMs,
    pacing: config.pacing,
  });
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  const recorder = record ? statementRecorder() : undefined;
  const client = recorder ? { ...db, query: recorder.wrap(db.query) } : db;
  const store = createPostgresStore(client, {
    onBackgroundError: (err) => console.warn(`background ANALYZE failed: ${err && err.message}`),
  });
  return { db, store, recorder };
}

function statementRecorder() {
  let statements;
  return {
    wrap(query) {
      return (text, params, options) => {
        if (statements) statements.push({ text, params: params || [] });
        return query(text, params, options);
      };
    },
    start() {
      statements = [];
    },
    stop() {
      const taken = statements || [];
      statements = undefined;
      return taken;
    },
  };
}

/**
 * startDirectory over `store` on 127.0.0.1 (port 0, silent, no seed). `options`: searchCacheMb (0 by
 * default: no response cache), writeRatePerMinute (0 by default: the bench's own writer is never
 * refused by the per-client write rate).
 */
async function startBenchDirectory(store, options = {}) {
  const { startDirectory } = requireDist('directory');
  const { createLogger } = requireDist('logger');
  const config = serverConfig();
  return startDirectory(
    {
      port: 0,
      host: '127.0.0.1',
      seed: false,
      maxBodyBytes: config.maxBodyBytes,
      limits: config.limits,
      searchCacheMb: options.searchCacheMb ?? 0,
      writeRatePerMinute: options.writeRatePerMinute ?? 0,
      ...(options.readAccess ? { readAccess: options.readAccess } : {}),
    },
    createLogger('silent'),
    store,
  );
}

module.exports = { serverConfig, openBenchStore, startBenchDirectory };
