/**
 * Bulk Data Access IG 2.0 export.html: the kick-off (`$export` at system and type level), the status
 * URL (poll: 202 with X-Progress and Retry-After, then 200 with the manifest; DELETE: cancel) and the
 * NDJSON files. No express here: src/http routes requests to these as to any FHIR interaction.
 */
import { randomUUID } from 'node:crypto';
import type { FhirContext } from '../fhir/context';
import { expired, forbidden, informational, invalid, jobFailed, notFound, throttled } from '../fhir/errors';
import { readRefusal } from '../security/access-rules';
import { header, type FhirRequest, type FhirResult } from '../fhir/request';
import type { ExportJob } from '../storage/export-store';
import { kickOffQuery, parseExportParameters } from './export-parameters';
import { describeProgress, readProgress, START } from './export-progress';
import type { ExportSettings } from './export-settings';
import { POLL_SECONDS } from './export-settings';
import { exportFileLines, fileName, parseFileName } from './export-files';

const MANIFEST_TYPE = 'application/json; charset=utf-8';

function settingsOf(ctx: FhirContext): ExportSettings {
  if (!ctx.exports) throw notFound('$export on this server');
  return ctx.exports;
}

const statusUrl = (ctx: FhirContext, id: string): string => `${ctx.baseUrl}/$export-status/${id}`;

/** export.html#headers: `Prefer: respond-async` is required; without it the kick-off is a 400. */
function requireRespondAsync(request: FhirRequest): void {
  const prefer = header(request, 'prefer') ?? '';
  if (!/(?:^|[,;\s])respond-async(?:$|[,;\s])/i.test(prefer))
    throw invalid('$export runs asynchronously: send the header Prefer: respond-async', 'Prefer');
}

/** The request URL as the manifest's `request` gives it: the base URL, the path and the query. */
function requestUrl(ctx: FhirContext, request: FhirRequest, routeType: string | undefined): string {
  const query = request.query.toString();
  return `${ctx.baseUrl}${routeType ? `/${routeType}` : ''}/$export${query ? `?${query}` : ''}`;
}

/** export.html#bulk-data-kick-off-request: 202 with Content-Location of the status URL, or 429 at EXPORT_MAX_JOBS. */
export async function kickOffExport(
  ctx: FhirContext,
  request: FhirRequest,
  routeType?: string,
): Promise<FhirResult> {
  const settings = settingsOf(ctx);
  requireRespondAsync(request);
  const parameters = parseExportParameters(ctx, request, kickOffQuery(request), routeType);
  const job = await ctx.store.exports.create(
    {
      id: randomUUID(),
      ...(request.principal ? { clientId: request.principal.clientId } : {}),
      request: requestUrl(ctx, request, routeType),
      types: parameters.types,
      typeFilters: JSON.stringify(parameters.typeFilters),
      typeConditions: parameters.typeConditions,
      ...(parameters.since === undefined ? {} : { since: parameters.since }),
      ...(parameters.until === undefined ? {} : { until: parameters.until }),
      progress: JSON.stringify(START),
    },
    settings.maxJobs,
  );
  if (!job)
    throw throttled(
      `${settings.maxJobs} exports are running (EXPORT_MAX_JOBS); retry in ${POLL_SECONDS * 10} s`,
      POLL_SECONDS * 10,
    );
  settings.wake();
  return {
    status: 202,
    headers: { 'content-location': statusUrl(ctx, job.id) },
    body: informational(`Export ${job.id} accepted; poll ${statusUrl(ctx, job.id)}`),
  };
}

/**
 * The job, when this client may see it: 404 for an unknown id and for another client's job (its
 * URLs are tied to the client that kicked it off), 410 once it expired.
 */
async function visibleJob(ctx: FhirContext, request: FhirRequest, id: string): Promise<ExportJob> {
  const job = await ctx.store.exports.get(id);
  if (!job || job.clientId !== request.principal?.clientId) throw notFound(`Export job ${id}`);
  mayReadJobTypes(ctx, request, job);
  if (job.expired)
    throw expired(`Export job ${id} has expired (EXPORT_RETENTION_MINUTES); kick off a new one`);
  return job;
}

function manifest(ctx: FhirContext, job: ExportJob) {
  const { counts } = readProgress(job.progress);
  const files = (kind: 'resources' | 'deleted') =>
    job.types
      .map((type) => ({ type, count: counts[type]?.[kind] ?? 0 }))
      .filter((file) => file.count > 0)
      .map((file) => ({
        type: kind === 'resources' ? file.type : 'Bundle',
        url: `${ctx.baseUrl}/$export-file/${job.id}/${fileName(file.type, kind)}`,
        count: file.count,
      }));
  return {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: ctx.access?.readAccess === 'authenticated',
    output: files('resources'),
    // export.html#response---complete-status: deletions only when `_since` was given.
    deleted: job.sinceSeq === undefined ? [] : files('deleted'),
    error: [],
  };
}

/** export.html#bulk-data-status-request: 202 while the job runs, 200 with the manifest, 500 when it failed. */
export async function exportStatus(ctx: FhirContext, request: FhirRequest, id: string): Promise<FhirResult> {
  settingsOf(ctx);
  const job = await visibleJob(ctx, request, id);
  if (job.status === 'failed')
    throw jobFailed(`Export job ${id} failed: ${job.error ?? 'no reason recorded'}`);
  if (job.status !== 'complete')
    return {
      status: 202,
      headers: {
        'x-progress': describeProgress(job.types, readProgress(job.progress)),
        'retry-after': String(POLL_SECONDS),
      },
    };
  return {
    status: 200,
    contentType: MANIFEST_TYPE,
    headers: { 'cache-control': 'no-store' },
    body: JSON.stringify(manifest(ctx, job)),
  };
}

/**
 * Under READ_ACCESS=authenticated, the token must still allow searching every type of the job (the
 * route names none): a client whose scopes cover the exported types polls and downloads its own job
 * without a system-wide read scope; a token of the same client narrowed since is a 403.
 */
function mayReadJobTypes(ctx: FhirContext, request: FhirRequest, job: ExportJob): void {
  const readAccess = ctx.access?.readAccess ?? 'public';
  for (const type of job.types) {
    const refused = readRefusal(request.principal, readAccess, type, 'search');
    if (refused) throw forbidden(refused.rule, { neededScope: refused.neededScope });
  }
}

/** export.html#bulk-data-delete-request: 202, the job and its files are gone. */
export async function cancelExport(ctx: FhirContext, request: FhirRequest, id: string): Promise<FhirResult> {
  settingsOf(ctx);
  const job = await ctx.store.exports.get(id);
  if (!job || job.clientId !== request.principal?.clientId) throw notFound(`Export job ${id}`);
  await ctx.store.exports.remove(id);
  return { status: 202, body: informational(`Export job ${id} is cancelled and its files removed`) };
}

/** export.html#file-request: one NDJSON file of a complete job, read from the snapshot as it is sent. */
export async function exportFile(
  ctx: FhirContext,
  request: FhirRequest,
  id: string,
  file: string,
): Promise<FhirResult> {
  settingsOf(ctx);
  const job = await visibleJob(ctx, request, id);
  const named = parseFileName(file);
  if (job.status !== 'complete' || !named || !job.types.includes(named.type))
    throw notFound(`Export file ${id}/${file}`);
  if (named.kind === 'deleted' && job.sinceSeq === undefined) throw notFound(`Export file ${id}/${file}`);
  return {
    status: 200,
    contentType: 'application/fhir+ndjson',
    headers: { 'cache-control': 'no-store' },
    lines: exportFileLines(ctx, job, named.type, named.kind, request.signal),
  };
}
