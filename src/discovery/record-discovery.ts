/**
 * Stores what one check found, as FHIR, as the directory's own write (writeRecorded with
 * DIRECTORY_ACTOR: each new version is a target of the write's Provenance, whose agent is the directory):
 *
 * - the endpoint's CapabilityStatement as `CapabilityStatement/<Endpoint id>` with `meta.source` = the
 *   Endpoint's address, written only when its content changed. Only an R4 statement (fhirVersion 4.0.x)
 *   that passes base R4 validation is stored; a DSTU2/STU3 one, or an XML-only one, is not converted:
 *   the summary keeps what it says (version, software, resources, profiles for JSON; status and MIME
 *   type for XML) and the Endpoint carries no reference to a statement;
 * - on the Endpoint, the discovery summary and the reference to the statement, in one new version
 *   only when either changed.
 *
 * Reading and writing happen in one transaction under the write lock, so an implementer's update in
 * between cannot be lost: the summary is laid over the Endpoint as it is at the time of the write.
 */
import type { CapabilityStatement, Endpoint, Extension, Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../fhir/context';
import { DIRECTORY_ACTOR } from '../fhir/provenance';
import { writeRecorded } from '../fhir/recorded-write';
import { extractIndexRows } from '../fhir/search/extract-index';
import { sameContent } from '../fhir/interactions/same-content';
import type { CheckStatistics } from '../storage/discovery-store';
import type { ResourceReader } from '../storage/resource-store';
import { CAPABILITY_STATEMENT_URL, SUMMARY_URL, summarize } from './discovery-summary';
import type { ProbeResult } from './probe-endpoint';

export interface RecordOutcome {
  /** Whether the Endpoint got a new version, and the CapabilityStatement. */
  endpointWritten: boolean;
  statementWritten: boolean;
  /** Why a fetched statement was not stored, when it was not. */
  statementSkipped?: string;
}

type DiscoveryContext = Pick<FhirContext, 'store' | 'baseUrl' | 'validator'>;

export async function recordDiscovery(
  ctx: DiscoveryContext,
  endpointId: string,
  probe: ProbeResult,
  checkedAt: string,
): Promise<RecordOutcome> {
  const statistics = await ctx.store.discovery.statistics(endpointId, 30);
  const candidate = candidateStatement(endpointId, probe);
  let checked: StatementChoice | undefined;
  const input: PlanInput = {
    endpointId,
    probe,
    checkedAt,
    statistics,
    candidate,
    // Validation costs tens of ms a statement: only a statement that differs from the stored one is validated.
    validated: () => (checked ??= validatedStatement(ctx, candidate)),
  };
  // Planned first on committed data, without the write lock: a check that changes nothing (most
  // checks of a daily crawl) opens no write transaction, so it holds up no writer and, on PGlite's
  // one connection, no reader. What changes is planned again under the lock and written.
  const outcome = (written: Resource[]): RecordOutcome => {
    const skipped = checked?.skipped ?? candidate.skipped;
    return {
      endpointWritten: written.some((r) => r.resourceType === 'Endpoint'),
      statementWritten: written.some((r) => r.resourceType === 'CapabilityStatement'),
      ...(skipped ? { statementSkipped: skipped } : {}),
    };
  };
  if ((await planWrites(ctx.store, input)).length === 0) return outcome([]);
  return writeRecorded(ctx, DIRECTORY_ACTOR, async (session) => {
    const writes = await planWrites(session, input);
    for (const resource of writes)
      await session.writeVersion({
        resourceType: resource.resourceType,
        id: resource.id as string,
        method: 'PUT',
        resource,
        index: extractIndexRows(resource, ctx.baseUrl),
      });
    return outcome(writes);
  });
}

interface StatementChoice {
  statement?: CapabilityStatement;
  skipped?: string;
}

interface PlanInput {
  endpointId: string;
  probe: ProbeResult;
  checkedAt: string;
  statistics: CheckStatistics;
  candidate: StatementChoice;
  validated: () => StatementChoice;
}

/** The resources whose stored version differs from what this check says: the statement, then the Endpoint. */
async function planWrites(reader: ResourceReader, input: PlanInput): Promise<Resource[]> {
  const { endpointId, probe, checkedAt, statistics, candidate } = input;
  const current = await readResource<Endpoint>(reader, 'Endpoint', endpointId);
  // Deleted (or never there) since the crawl listed it: nothing to record on.
  if (!current) return [];
  const writes: Resource[] = [];
  let statement: CapabilityStatement | undefined;
  if (candidate.statement) {
    const stored = await readResource(reader, 'CapabilityStatement', endpointId);
    if (stored && sameContent(stored, candidate.statement)) statement = candidate.statement;
    else {
      statement = input.validated().statement;
      if (statement) writes.push(statement);
    }
  }
  const previous = current.extension?.find((e) => e.url === SUMMARY_URL);
  const summary = summarize({ probe, checkedAt, statistics, ...(previous ? { previous } : {}) });
  const keepReference = statement !== undefined || (probe.check.status !== 'ok' && hasReference(current));
  const next: Endpoint = {
    ...current,
    extension: withDiscovery(current.extension, summary, keepReference ? endpointId : undefined),
  };
  if (!sameContent(current, next)) writes.push(next);
  return writes;
}

/** The fetched statement as the directory would store it (not yet validated), or why it is not stored. */
function candidateStatement(endpointId: string, probe: ProbeResult): StatementChoice {
  const fetched = probe.statement;
  if (!fetched) return {};
  if (
    fetched.resourceType !== 'CapabilityStatement' ||
    typeof fetched.fhirVersion !== 'string' ||
    !fetched.fhirVersion.startsWith('4.0')
  )
    return {
      skipped: `FHIR ${String(fetched.fhirVersion)} ${String(fetched.resourceType)}: summary only (not converted to R4)`,
    };
  // Real statements carry empty strings (Lantern's R4 example has `"documentation": ""`), which FHIR
  // JSON forbids and means absent: they are dropped, with the empty arrays and objects they leave.
  const {
    meta: _meta,
    id: _id,
    text: _text,
    ...rest
  } = withoutEmptyValues(fetched) as Record<string, unknown>;
  const statement = {
    ...rest,
    resourceType: 'CapabilityStatement',
    id: endpointId,
    meta: { source: probe.check.address },
  } as CapabilityStatement;
  return { statement };
}

/** The candidate when it is valid base R4, else why not. */
function validatedStatement(ctx: DiscoveryContext, candidate: StatementChoice): StatementChoice {
  if (!candidate.statement) return candidate;
  const problems = ctx.validator
    .report(candidate.statement)
    .structural.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (problems.length === 0) return candidate;
  return {
    skipped: `not a valid R4 CapabilityStatement: ${problems
      .slice(0, 3)
      .map((i) => `${i.expression?.[0] ?? ''} ${i.diagnostics ?? ''}`.trim())
      .join('; ')}`,
  };
}

function withDiscovery(
  extensions: Extension[] | undefined,
  summary: Extension,
  statementId?: string,
): Extension[] {
  const others = (extensions ?? []).filter(
    (e) => e.url !== SUMMARY_URL && e.url !== CAPABILITY_STATEMENT_URL,
  );
  const ours: Extension[] = [summary];
  if (statementId)
    ours.push({
      url: CAPABILITY_STATEMENT_URL,
      valueReference: { reference: `CapabilityStatement/${statementId}` },
    });
  return [...others, ...ours];
}

function hasReference(endpoint: Endpoint): boolean {
  return (endpoint.extension ?? []).some((e) => e.url === CAPABILITY_STATEMENT_URL);
}

async function readResource<T extends Resource>(
  session: ResourceReader,
  type: string,
  id: string,
): Promise<T | undefined> {
  const record = await session.read(type, id);
  if (!record || record.deleted || !record.content) return undefined;
  return JSON.parse(record.content) as T;
}

/** The value without empty strings, arrays and objects (recursively); undefined when nothing is left. */
export function withoutEmptyValues(value: unknown): unknown {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (Array.isArray(value)) {
    const kept = value.map(withoutEmptyValues).filter((v) => v !== undefined);
    return kept.length > 0 ? kept : undefined;
  }
  if (typeof value === 'object' && value !== null) {
    const kept = Object.entries(value)
      .map(([k, v]) => [k, withoutEmptyValues(v)] as const)
      .filter(([, v]) => v !== undefined);
    return kept.length > 0 ? Object.fromEntries(kept) : undefined;
  }
  return value;
}
