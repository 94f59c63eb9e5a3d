/**
 * FHIR http.html#transaction and #batch. A transaction is one database transaction: every entry is
 * stored or none is, and the first failing entry is named in the OperationOutcome. A batch runs each
 * entry on its own and reports each entry's status.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { bundleJson, type RawEntry } from '../bundle-json';
import {
  FhirError,
  gone,
  invalid,
  invalidResource,
  isFhirError,
  notFound,
  profileViolation,
} from '../errors';
import { etagFor } from '../etag';
import { returnPreference } from '../prefer';
import type { FhirRequest, FhirResult } from '../request';
import { requireMatchingId, requireResource } from '../resource-body';
import { rewriteReferences } from '../reference-rewrite';
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
import { findSingleMatch, storedResource } from './conditional';

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
  return bundle.type === 'transaction' ? transaction(ctx, request, entries) : batch(ctx, request, entries);
}

async function transaction(
  ctx: FhirContext,
  request: FhirRequest,
  rawEntries: unknown[],
): Promise<FhirResult> {
  const entries = rawEntries.map((entry, index) => readEntryRequest(entry, index, ctx.baseUrl));
  const results = await ctx.store.write(async (session) => {
    // Conditional entries are resolved first, inside the transaction, so the ids they settle on
    // are the ones every reference to their fullUrl is rewritten to.
    for (const entry of entries) {
      try {
        await resolveConditional(session, entry, ctx.baseUrl);
      } catch (err) {
        throw isFhirError(err) ? atEntry(err, entry.index) : err;
      }
    }
    rejectDuplicateTargets(entries);
    resolveFullUrls(entries);
    validateAll(ctx, entries);
    const byIndex = new Map<number, RawEntry>();
    for (const entry of [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index)) {
      try {
        byIndex.set(entry.index, await runEntry(ctx, request, session, entry));
      } catch (err) {
        throw isFhirError(err) ? atEntry(err, entry.index) : err;
      }
    }
    return entries.map((entry) => byIndex.get(entry.index) as RawEntry);
  });
  return { status: 200, body: bundleJson({ type: 'transaction-response' }, results) };
}

/** FHIR http.html#trules: ifNoneExist and conditional PUT/DELETE URLs, decided by a search in the transaction. */
async function resolveConditional(
  session: WriteSession,
  entry: EntryRequest,
  baseUrl: string,
): Promise<void> {
  if (!entry.criteria) return;
  const match = await findSingleMatch(
    session,
    entry.type,
    entry.criteria,
    `Conditional ${entry.method}`,
    baseUrl,
  );
  if (entry.method === 'POST') {
    if (match) {
      entry.id = match.id;
      entry.settled = 'existing';
    }
    return;
  }
  if (entry.method === 'DELETE') {
    if (match) entry.id = match.id;
    else entry.settled = 'nothing';
    return;
  }
  const bodyId = entry.resource?.id;
  if (match && bodyId !== undefined && bodyId !== match.id) {
    throw invalid(
      `The resource id '${bodyId}' is not the id of the matching ${entry.type} '${match.id}'`,
      'resource.id',
    );
  }
  entry.id = match?.id ?? bodyId ?? randomUUID();
  entry.resource = { ...(entry.resource as Resource), id: entry.id };
}

async function batch(ctx: FhirContext, request: FhirRequest, rawEntries: unknown[]): Promise<FhirResult> {
  const results: RawEntry[] = [];
  for (const [index, raw] of rawEntries.entries()) {
    try {
      const entry = readEntryRequest(raw, index, ctx.baseUrl);
      if (entry.method === 'GET') {
        results.push(await runGet(ctx, request, entry));
        continue;
      }
      if (entry.resource && entry.method !== 'PATCH') {
        requireResource(entry.resource, entry.type);
        ctx.validator.assertValid(entry.resource);
      }
      results.push(await ctx.store.write((session) => runEntry(ctx, request, session, entry)));
    } catch (err) {
      if (!isFhirError(err)) throw err;
      const failed = atEntry(err, index);
      results.push({ entry: { response: { status: String(failed.status), outcome: failed.outcome } } });
    }
  }
  return { status: 200, body: bundleJson({ type: 'batch-response' }, results) };
}

async function runEntry(
  ctx: FhirContext,
  request: FhirRequest,
  session: WriteSession,
  entry: EntryRequest,
): Promise<RawEntry> {
  const options = writeOptions(ctx, entry.ifMatch === undefined ? {} : { ifMatch: entry.ifMatch });
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
        await createResource(session, entry.resource as Resource, entry.id, writeOptions(ctx)),
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
  };
  const result =
    entry.id === undefined
      ? await search(ctx, inner, entry.type)
      : entry.versionId
        ? await vread(ctx, entry.type, entry.id, entry.versionId)
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

/** FHIR http.html#trules: one resource may be the target of only one entry. */
function rejectDuplicateTargets(entries: EntryRequest[]): void {
  const seen = new Map<string, number>();
  for (const entry of entries) {
    if (entry.method === 'GET' || entry.method === 'POST' || entry.id === undefined) continue;
    const key = `${entry.type}/${entry.id}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw invalid(
        `Bundle.entry[${entry.index}] and Bundle.entry[${first}] both change ${key}`,
        `Bundle.entry[${entry.index}]`,
      );
    }
    seen.set(key, entry.index);
  }
}

/** Gives each POST entry its id, then rewrites every reference to an entry's fullUrl. */
function resolveFullUrls(entries: EntryRequest[]): void {
  const targets = new Map<string, string>();
  for (const entry of entries) {
    if (entry.method === 'POST' && entry.id === undefined) entry.id = randomUUID();
    if (entry.fullUrl && entry.id && (entry.method === 'POST' || entry.method === 'PUT')) {
      if (targets.has(entry.fullUrl))
        throw invalid(
          `Bundle.entry[${entry.index}] repeats fullUrl ${entry.fullUrl}`,
          `Bundle.entry[${entry.index}].fullUrl`,
        );
      targets.set(entry.fullUrl, `${entry.type}/${entry.id}`);
    }
  }
  for (const entry of entries) {
    if (!entry.resource || entry.method === 'PATCH') continue;
    const unresolved: string[] = [];
    entry.resource = rewriteReferences(entry.resource, targets, unresolved);
    if (unresolved.length > 0) {
      throw invalid(
        `Bundle.entry[${entry.index}] refers to ${unresolved.join(', ')}, which no entry of this Bundle has as fullUrl`,
        `Bundle.entry[${entry.index}].resource`,
      );
    }
    if (entry.method === 'POST') entry.resource = { ...entry.resource, id: entry.id };
  }
}

/** Every entry is validated before anything is stored, and every problem is reported at once. */
function validateAll(ctx: FhirContext, entries: EntryRequest[]): void {
  const structural: OperationOutcomeIssue[] = [];
  const profile: OperationOutcomeIssue[] = [];
  for (const entry of entries) {
    if (!entry.resource || entry.method === 'PATCH' || entry.settled) continue;
    try {
      requireResource(entry.resource, entry.type);
    } catch (err) {
      throw isFhirError(err) ? atEntry(err, entry.index) : err;
    }
    try {
      ctx.validator.assertValid(entry.resource, `Bundle.entry[${entry.index}].resource`);
    } catch (err) {
      if (!isFhirError(err)) throw err;
      (err.status === 422 ? profile : structural).push(...(err.outcome.issue ?? []));
    }
  }
  if (structural.length > 0) throw invalidResource([...structural, ...profile]);
  if (profile.length > 0) throw profileViolation(profile);
}

/** Names the entry in every issue of an error that came from it, with FHIRPath inside the Bundle. */
function atEntry(err: FhirError, index: number): FhirError {
  const where = `Bundle.entry[${index}]`;
  const rebase = (e: string): string => {
    if (e.startsWith('Bundle.')) return e;
    if (e.startsWith('request.')) return `${where}.${e}`;
    // `Endpoint.status` → `Bundle.entry[1].resource.status`; `resourceType` → `Bundle.entry[1].resource.resourceType`.
    const typed = /^[A-Z][A-Za-z]+(?=\.|$)/.exec(e);
    return typed ? `${where}.resource${e.slice(typed[0].length)}` : `${where}.resource.${e}`;
  };
  const issues = (err.outcome.issue ?? []).map((i) => ({
    ...i,
    diagnostics: i.diagnostics?.startsWith('Bundle.entry[')
      ? i.diagnostics
      : `${where}: ${i.diagnostics ?? ''}`,
    expression: i.expression?.map(rebase) ?? [where],
  }));
  return new FhirError({ ...err.outcome, issue: issues }, err.status);
}
