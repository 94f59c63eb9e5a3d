/**
 * Everything a transaction can decide before it takes the write lock (DESIGN.md, "One write lock"):
 * which resource each conditional entry names, the id of every new resource, the references to
 * fullUrls rewritten, every entry validated and its index rows extracted. Only the writes (and the
 * reads they depend on: If-Match, update-as-create, the PATCH base) are left for under the lock.
 *
 * Conditional entries are searched twice: before the lock, to plan, and under it, to check that the
 * plan still holds (FHIR http.html#trules: the outcome must be as if the entries ran in one go).
 * When another writer changed what a condition matches in between, the plan is made again under the
 * lock from the Bundle as sent, so the answer is exactly the one a fully locked run would give; the
 * only cost of the race is that one plan's time under the lock.
 */
import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../context';
import { FhirError, invalid, invalidResource, isFhirError, profileViolation } from '../errors';
import { eventLoopYielder } from '../event-loop-yield';
import { rewriteReferences } from '../reference-rewrite';
import { requireResource, requireValidId } from '../resource-body';
import type { ResourceReader } from '../../storage/resource-store';
import type { EntryRequest } from './bundle-entry-request';
import { findSingleMatch } from './conditional';
import { derivedId, hasContainedEndpoints } from './contained-endpoints';
import { PreparedWrites } from './prepared-writes';
import { prepareWrite, writeOptions } from './write-operations';

export interface TransactionPlan {
  entries: EntryRequest[];
  /** The id each conditional entry's criteria matched (undefined: none), by entry index. */
  matches: Map<number, string | undefined>;
  prepared: PreparedWrites;
}

/** `readEntries` reads the Bundle's entries afresh: a plan made again starts from the Bundle as sent. */
export async function planTransaction(
  ctx: FhirContext,
  readEntries: () => EntryRequest[],
  reader: ResourceReader,
): Promise<TransactionPlan> {
  const entries = readEntries();
  const matches = new Map<number, string | undefined>();
  for (const entry of entries) {
    if (!entry.criteria) continue;
    await atEntryAsync(entry.index, async () => {
      const match = await findConditionalMatch(reader, entry, ctx);
      matches.set(entry.index, match);
      settleConditional(entry, match);
    });
  }
  rejectDuplicateTargets(entries);
  resolveFullUrls(entries);
  const yieldNow = eventLoopYielder();
  await validateAll(ctx, entries, yieldNow);
  const prepared = new PreparedWrites();
  const options = writeOptions(ctx, { prepared });
  for (const entry of entries) {
    if (!entry.resource || entry.id === undefined || entry.settled) continue;
    if (entry.method !== 'POST' && entry.method !== 'PUT') continue;
    try {
      prepareWrite(entry.resource, entry.id, options);
    } catch (err) {
      throw isFhirError(err) ? atEntry(err, entry.index) : err;
    }
    await yieldNow();
  }
  return { entries, matches, prepared };
}

/** Under the lock: does every conditional entry still match what it matched when the plan was made? */
export async function planStillHolds(
  plan: TransactionPlan,
  reader: ResourceReader,
  ctx: Pick<FhirContext, 'baseUrl' | 'limits'>,
): Promise<boolean> {
  for (const entry of plan.entries) {
    if (!entry.criteria) continue;
    try {
      if ((await findConditionalMatch(reader, entry, ctx)) !== plan.matches.get(entry.index)) return false;
    } catch (err) {
      if (isFhirError(err)) return false;
      throw err;
    }
  }
  return true;
}

function findConditionalMatch(
  reader: ResourceReader,
  entry: EntryRequest,
  ctx: Pick<FhirContext, 'baseUrl' | 'limits'>,
): Promise<string | undefined> {
  const what = `Conditional ${entry.method}`;
  const criteria = entry.criteria as URLSearchParams;
  return findSingleMatch(reader, entry.type, criteria, what, ctx.limits, ctx.baseUrl).then(
    (match) => match?.id,
  );
}

/** FHIR http.html#trules: ifNoneExist and conditional PUT/DELETE URLs, decided by their match. */
function settleConditional(entry: EntryRequest, match: string | undefined): void {
  if (entry.method === 'POST') {
    if (match !== undefined) {
      entry.id = match;
      entry.settled = 'existing';
    }
    return;
  }
  if (entry.method === 'DELETE') {
    if (match !== undefined) entry.id = match;
    else entry.settled = 'nothing';
    return;
  }
  const bodyId: unknown = entry.resource?.id;
  if (match !== undefined && bodyId !== undefined && bodyId !== match) {
    throw invalid(
      `The resource id ${JSON.stringify(bodyId)} is not the id of the matching ${entry.type} '${match}'`,
      `${entry.type}.id`,
    );
  }
  // With no match the body's id names the resource to create: it must be an id like any other.
  entry.id = match ?? (bodyId === undefined ? randomUUID() : requireValidId(bodyId, `${entry.type}.id`));
  entry.resource = { ...(entry.resource as Resource), id: entry.id };
}

/**
 * FHIR http.html#trules: one resource may be the target of only one entry. That includes the Endpoints
 * an Organization entry derives from its contained ones (contained-endpoints.ts): two Organizations
 * deriving one id, or an Organization and an entry of its own for a derived Endpoint, would leave
 * whichever ran last, so the Bundle is refused (400) naming both entries.
 */
function rejectDuplicateTargets(entries: EntryRequest[]): void {
  const seen = new Map<string, { index: number; how: string }>();
  const claim = (key: string, index: number, how: string): void => {
    const first = seen.get(key);
    // Two contained Endpoints of one entry with one id: splitContainedEndpoints names that (400).
    if (first?.index === index) return;
    if (first !== undefined) {
      throw invalid(
        `Bundle.entry[${index}]${how} and Bundle.entry[${first.index}]${first.how} both change ${key}`,
        `Bundle.entry[${index}]`,
      );
    }
    seen.set(key, { index, how });
  };
  for (const entry of entries) {
    if (entry.method === 'GET' || entry.method === 'POST' || entry.id === undefined) continue;
    claim(`${entry.type}/${entry.id}`, entry.index, '');
    if (entry.method !== 'PUT' || !entry.resource || !hasContainedEndpoints(entry.resource)) continue;
    for (const contained of entry.resource.contained ?? []) {
      if (contained.resourceType !== 'Endpoint' || typeof contained.id !== 'string') continue;
      const how = ` (through its contained Endpoint '${contained.id}')`;
      claim(`Endpoint/${derivedId(entry.id, contained.id)}`, entry.index, how);
    }
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

/**
 * Every entry is validated before anything is stored, and every problem is reported at once. The
 * event loop is given back between entries, so a large Bundle does not hold up other requests; with
 * validation threads (ctx.validationThreads) a large Bundle is validated there.
 */
async function validateAll(
  ctx: FhirContext,
  entries: EntryRequest[],
  yieldNow: () => Promise<void>,
): Promise<void> {
  const validated: (EntryRequest & { resource: Resource })[] = [];
  for (const entry of entries) {
    if (!entry.resource || entry.method === 'PATCH' || entry.settled) continue;
    try {
      requireResource(entry.resource, entry.type);
    } catch (err) {
      throw isFhirError(err) ? atEntry(err, entry.index) : err;
    }
    validated.push(entry as EntryRequest & { resource: Resource });
  }
  const prefixes = validated.map((entry) => `Bundle.entry[${entry.index}].resource`);
  const errors = ctx.validationThreads
    ? await ctx.validationThreads.check(
        validated.map((entry) => entry.resource),
        prefixes,
      )
    : await validateHere(ctx, validated, prefixes, yieldNow);
  const structural: OperationOutcomeIssue[] = [];
  const profile: OperationOutcomeIssue[] = [];
  for (const err of errors)
    if (err) (err.status === 422 ? profile : structural).push(...(err.outcome.issue ?? []));
  if (structural.length > 0) throw invalidResource([...structural, ...profile]);
  if (profile.length > 0) throw profileViolation(profile);
}

async function validateHere(
  ctx: FhirContext,
  entries: (EntryRequest & { resource: Resource })[],
  prefixes: string[],
  yieldNow: () => Promise<void>,
): Promise<(FhirError | undefined)[]> {
  const errors: (FhirError | undefined)[] = [];
  for (const [i, entry] of entries.entries()) {
    try {
      ctx.validator.assertValid(entry.resource, prefixes[i]);
      errors.push(undefined);
    } catch (err) {
      if (!isFhirError(err)) throw err;
      errors.push(err);
    }
    await yieldNow();
  }
  return errors;
}

async function atEntryAsync(index: number, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    throw isFhirError(err) ? atEntry(err, index) : err;
  }
}

/** Names the entry in every issue of an error that came from it, with FHIRPath inside the Bundle. */
export function atEntry(err: FhirError, index: number): FhirError {
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
  return new FhirError({ ...err.outcome, issue: issues }, err.status, err.headers);
}
