/**
 * FHIR http.html#transaction and #batch. A transaction is one database transaction: every entry is
 * stored or none is, and the first failing entry is named in the OperationOutcome. A batch runs each
 * entry on its own and reports each entry's status. Both are bounded: at most BUNDLE_MAX_ENTRIES
 * entries, each resource at most MAX_RESOURCE_BYTES (413 naming the limit).
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { bundleJson, type RawEntry } from '../bundle-json';
import {
  FhirError,
  gone,
  internalError,
  invalid,
  isFhirError,
  isRefusal,
  limitExceeded,
  notFound,
} from '../errors';
import { requireEntryAccess } from '../access-checks';
import { etagFor } from '../etag';
import { LIMIT_VARIABLES } from '../limits';
import { returnPreference } from '../prefer';
import type { FhirRequest, FhirResult } from '../request';
import { requireMatchingId, requireResource } from '../resource-body';
import type { FhirContext } from '../context';
import type { WriteSession } from '../../storage/resource-store';
import { patchDocument, readEntryRequest, type EntryRequest } from './bundle-entry-request';
import { read, vread } from './read';
import { search } from './search';
import {
  createResource,
  deleteResource,
  patchResource,
  updateResource,
  type WriteResult,
  writeOptions,
} from './write-operations';
import { versionLocation } from './write-response';
import { storedResource } from './conditional';
import type { PreparedWrites } from './prepared-writes';
import { atEntry, planStillHolds, planTransaction } from './transaction-plan';
import { type OwnershipCheck, ownershipGuard } from './ownership-guard';
import { actorOf, writeRecorded } from '../recorded-write';
import { requireReadable } from '../admin-only';

const STATUS_TEXT: Record<number, string> = { 200: '200 OK', 201: '201 Created', 204: '204 No Content' };

/** FHIR http.html#trules: DELETE, then POST, then PUT/PATCH, then GET. */
const ORDER: Record<EntryRequest['method'], number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 };

export async function transactionOrBatch(ctx: FhirContext, request: FhirRequest): Promise<FhirResult> {
  const bundle = requireResource(request.body, 'Bundle') as Bundle;
  if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
    throw invalid(
      `POST to the base needs a transaction or batch Bundle, not '${String(bundle.type)}'`,
      'Bundle.type',
    );
  }
  const entries: unknown = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw invalid('Bundle.entry must be an array', 'Bundle.entry');
  // BUNDLE_MAX_ENTRIES bounds the work, and for a transaction the time it holds the write lock.
  if (entries.length > ctx.limits.bundleEntries) {
    throw limitExceeded(
      `The Bundle has ${entries.length} entries`,
      LIMIT_VARIABLES.bundleEntries,
      ctx.limits.bundleEntries,
      'Bundle.entry',
      413,
    );
  }
  return bundle.type === 'transaction' ? transaction(ctx, request, entries) : batch(ctx, request, entries);
}

async function transaction(
  ctx: FhirContext,
  request: FhirRequest,
  rawEntries: unknown[],
): Promise<FhirResult> {
  // Every entry's access is checked as it is read, so one forbidden entry fails the whole Bundle
  // before anything is planned or written.
  const readEntries = (): EntryRequest[] =>
    rawEntries.map((raw, index) => {
      const entry = readEntryRequest(raw, index, ctx.baseUrl, ctx.limits.resourceBytes);
      checkEntryAccess(ctx, request, entry);
      return entry;
    });
  const results = await runTransaction(ctx, request, readEntries);
  return { status: 200, body: bundleJson({ type: 'transaction-response' }, results) };
}

/**
 * Plans the entries before the write lock (transaction-plan.ts), then writes them under it in the
 * order FHIR asks for; one database transaction, so every entry is stored or none is.
 */
async function runTransaction(
  ctx: FhirContext,
  request: FhirRequest,
  readEntries: () => EntryRequest[],
): Promise<RawEntry[]> {
  const planned = await planTransaction(ctx, readEntries, ctx.store);
  return writeRecorded(
    ctx,
    actorOf(request),
    async (session) => {
      const plan = (await planStillHolds(planned, session, ctx))
        ? planned
        : await planTransaction(ctx, readEntries, session);
      // One statement reads every entry's current version: the writes below need no lookup of their own.
      await session.prefetch(
        plan.entries.flatMap((e) =>
          e.method === 'GET' || e.id === undefined ? [] : [{ resourceType: e.type, id: e.id }],
        ),
      );
      const byIndex = new Map<number, RawEntry>();
      const ordered = [...plan.entries].sort(
        (a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index,
      );
      // Every entry's ownership is decided (ownership-guard.ts): one forbidden entry fails them all.
      const guard = ownershipGuard(request.principal, session, ctx.baseUrl);
      for (const entry of ordered) {
        try {
          const ownership = guard?.forEntry(entry.index);
          byIndex.set(entry.index, await runEntry(ctx, request, session, entry, plan.prepared, ownership));
        } catch (err) {
          throw isFhirError(err) ? atEntry(err, entry.index) : err;
        }
      }
      await guard?.settle(atEntry);
      return plan.entries.map((entry) => byIndex.get(entry.index) as RawEntry);
    },
    request.signal,
  );
}

/**
 * FHIR http.html#batch: each entry on its own, as a transaction of one, and each answered in the
 * batch-response whatever happens to the others. An unexpected error in one entry is that entry's
 * 500 with the request id (and a line in the log); the entries before it stay stored and the ones
 * after it still run, so a client retrying the batch knows which entries to retry.
 */
async function batch(ctx: FhirContext, request: FhirRequest, rawEntries: unknown[]): Promise<FhirResult> {
  const results: RawEntry[] = [];
  for (const [index, raw] of rawEntries.entries()) {
    try {
      const readEntry = (): EntryRequest =>
        readEntryRequest(raw, index, ctx.baseUrl, ctx.limits.resourceBytes);
      const entry = readEntry();
      checkEntryAccess(ctx, request, entry);
      if (entry.method === 'GET') results.push(await runGet(ctx, request, entry));
      else results.push(...(await runTransaction(ctx, request, () => [readEntry()])));
    } catch (err) {
      const failed = atEntry(isFhirError(err) ? err : unexpected(request, err), index);
      if (isRefusal(failed)) request.reportRefused?.(failed);
      results.push({ entry: { response: { status: String(failed.status), outcome: failed.outcome } } });
    }
  }
  return { status: 200, body: bundleJson({ type: 'batch-response' }, results) };
}

/** The entry's access (access-checks.ts), its error naming the entry. */
function checkEntryAccess(ctx: FhirContext, request: FhirRequest, entry: EntryRequest): void {
  try {
    requireEntryAccess(ctx, request, entry);
  } catch (err) {
    throw isFhirError(err) ? atEntry(err, entry.index) : err;
  }
}

function unexpected(request: FhirRequest, err: unknown): FhirError {
  return request.reportUnexpected?.(err) ?? internalError('unknown');
}

async function runEntry(
  ctx: FhirContext,
  request: FhirRequest,
  session: WriteSession,
  entry: EntryRequest,
  prepared: PreparedWrites,
  ownership: OwnershipCheck | undefined,
): Promise<RawEntry> {
  const clientWrite = request.principal !== undefined;
  const options = writeOptions(
    ctx,
    entry.ifMatch === undefined
      ? { prepared, ownership, clientWrite }
      : { ifMatch: entry.ifMatch, prepared, ownership, clientWrite },
  );
  switch (entry.method) {
    case 'POST': {
      requireResource(entry.resource, entry.type);
      if (entry.settled === 'existing') {
        const existing = await session.read(entry.type, entry.id as string);
        if (existing)
          return writeEntry(ctx, request, {
            status: 200,
            record: existing,
            resource: storedResource(existing),
            changed: false,
          });
      }
      return writeEntry(
        ctx,
        request,
        await createResource(
          session,
          entry.resource as Resource,
          entry.id,
          writeOptions(ctx, { prepared, ownership, clientWrite }),
        ),
      );
    }
    case 'PUT': {
      const resource = entry.resource as Resource & { id: string };
      requireResource(resource, entry.type);
      requireMatchingId(resource, entry.id as string);
      return writeEntry(ctx, request, await updateResource(session, resource, options));
    }
    case 'PATCH':
      return writeEntry(
        ctx,
        request,
        await patchResource(
          session,
          ctx.validator,
          entry.type,
          entry.id as string,
          patchDocument(entry),
          options,
        ),
      );
    case 'DELETE':
      if (entry.settled === 'nothing') return { entry: { response: { status: '204 No Content' } } };
      return writeEntry(ctx, request, await deleteResource(session, entry.type, entry.id as string, options));
    case 'GET': {
      requireReadable([entry.type], request.principal);
      // Inside the transaction a read sees the transaction's own writes.
      if (entry.query || entry.id === undefined)
        throw invalid('A search inside a transaction is not supported; use a batch');
      if (entry.versionId !== undefined && !/^[1-9]\d{0,8}$/.test(entry.versionId)) {
        throw invalid(`'${entry.versionId}' is not a version id`, 'request.url');
      }
      const record = entry.versionId
        ? await session.vread(entry.type, entry.id, Number(entry.versionId))
        : await session.read(entry.type, entry.id);
      // A transaction-response means every entry succeeded (R4 valueset-bundle-type), so a read that
      // finds nothing fails the whole transaction (http.html#transaction: "reject all resources").
      if (!record)
        throw notFound(`${entry.type}/${entry.id}${entry.versionId ? `/_history/${entry.versionId}` : ''}`);
      if (record.deleted || record.content === undefined) throw gone(entry.type, entry.id);
      return {
        entry: {
          response: { status: '200 OK', etag: etagFor(record.versionId), lastModified: record.lastUpdated },
        },
        resourceJson: record.content,
      };
    }
  }
}

async function runGet(ctx: FhirContext, request: FhirRequest, entry: EntryRequest): Promise<RawEntry> {
  const inner: FhirRequest = {
    method: 'GET',
    query: entry.query ?? new URLSearchParams(),
    headers: request.headers,
    ...(request.principal ? { principal: request.principal } : {}),
  };
  const result =
    entry.id === undefined
      ? await search(ctx, inner, entry.type)
      : entry.versionId
        ? await vread(ctx, entry.type, entry.id, entry.versionId, undefined, request.principal)
        : await read(ctx, inner, entry.type, entry.id);
  const response: NonNullable<BundleEntry['response']> = { status: String(result.status) };
  if (result.headers?.etag) response.etag = result.headers.etag;
  const json = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
  return { entry: { response }, resourceJson: json };
}

function writeEntry(ctx: FhirContext, request: FhirRequest, result: WriteResult): RawEntry {
  const response: NonNullable<BundleEntry['response']> = {
    status: STATUS_TEXT[result.status] ?? String(result.status),
    etag: etagFor(result.record.versionId),
    lastModified: result.record.lastUpdated,
  };
  if (result.resource !== null) response.location = versionLocation(ctx, result.record);
  const preference = returnPreference(request);
  const fullUrl = `${ctx.baseUrl}/${result.record.resourceType}/${result.record.id}`;
  if (preference === 'OperationOutcome' && result.outcome) response.outcome = result.outcome;
  if (preference !== 'representation' || result.record.content === undefined || result.resource === null) {
    return { entry: { fullUrl, response } };
  }
  return { entry: { fullUrl, response }, resourceJson: result.record.content };
}
