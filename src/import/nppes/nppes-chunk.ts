/**
 * One chunk of NPPES units as the import writes it (write-chunk.ts: one transaction, a unit at a
 * time again when the database refuses it):
 *
 * 1. `warm()`, before the write lock (and while the previous chunk's transaction runs): the chunk's
 *    stored entries are read in a few statements (nppes-view.ts), each unit decided
 *    (decide-nppes-unit.ts), and what is new or changed validated and its index rows extracted.
 * 2. Under the lock, the first unit reads the view again through the session (one statement for the
 *    current rows, which the writes then use, and a look-up by identifier for the NPIs not found by
 *    id), and each unit is decided again on what is true now: the validations and index rows made
 *    ahead are found by content, so the lock is held for the comparisons and the writes.
 *
 * Each NPI whose Organization is written or unchanged is `listed` (retire-unlisted.ts retires the
 * others), and the Endpoints its Organization no longer lists are passed to `dropped`.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext } from '../../fhir/context';
import { eventLoopYielder } from '../../fhir/event-loop-yield';
import { isFhirError } from '../../fhir/errors';
import { PreparedWrites } from '../../fhir/interactions/prepared-writes';
import { prepareWrite, updateResource, writeOptions } from '../../fhir/interactions/write-operations';
import type { WriteSession } from '../../storage/resource-store';
import type { SourceRef } from '../../storage/source-store';
import type { ImportIssue } from '../import-report';
import type { VendorUnit } from '../vendors/vendor-plan';
import type { Work } from '../write-chunk';
import { conflictEvent, rejectedEvent, writtenEvent, type WriteEvent } from '../write-event';
import { refusalIssues } from '../write-refusal';
import { decideUnit, type Decider, type Decision, type UnitDecision } from './decide-nppes-unit';
import { nppesEndpointId, nppesOrganizationId } from './nppes-ids';
import type { ShapeValidator } from './nppes-shapes';
import {
  readView,
  sessionReader,
  setCurrent,
  storeReader,
  type KeyedUnit,
  type NppesView,
} from './nppes-view';

export interface ChunkHooks {
  /** The NPI's Organization was written or found unchanged. */
  listed(npi: string): void;
  dropped(endpointIds: string[]): void;
}

export interface NppesChunk {
  works: Work[];
  /**
   * Decides, validates and prepares ahead, outside the write lock. Never throws. Returns the
   * chunk's events when every entry was found unchanged: then nothing is to be written, and the
   * chunk needs no transaction (the answer is the one the reads saw).
   */
  warm(): Promise<WriteEvent[] | undefined>;
}

/** Short slices, so the writing chunk's statements wait little for the event loop (write-chunk.ts). */
const WARM_SLICE_MS = 2;

export function nppesChunk(
  ctx: FhirContext,
  owner: SourceRef,
  idPrefix: string,
  units: VendorUnit[],
  hooks: ChunkHooks,
  /** Whether a chunk found wholly unchanged may skip its transaction (false: it shares an NPI with the chunk being written). */
  mayShortcut: boolean,
  /** The import's validator, by shape (nppes-shapes.ts): kept across chunks. */
  shapes: ShapeValidator,
): NppesChunk {
  const keyed: KeyedUnit[] = units.map((unit) => keyedUnit(unit, idPrefix));
  const verdicts = new Map<string, ImportIssue[]>();
  const options = writeOptions(ctx, { prepared: new PreparedWrites() });
  const decider: Decider = {
    owner,
    options,
    validate(resource: Resource): ImportIssue[] {
      // By shape, a verdict is found again by its skeleton; otherwise by the resource's content.
      if (shapes.byShape) return shapes.validate(resource);
      const key = JSON.stringify(resource);
      let issues = verdicts.get(key);
      if (!issues) {
        issues = shapes.validate(resource);
        verdicts.set(key, issues);
      }
      return issues;
    },
  };
  /**
   * Each unit's decision made ahead, with what it was decided on (viewFacts): under the lock a unit
   * whose view is the same (nothing written at its ids since, no Organization found by identifier)
   * takes that decision instead of deciding again: decideUnit is a function of those facts.
   */
  const ahead = new Map<KeyedUnit, { facts: string; decision: UnitDecision }>();
  const views = new WeakMap<WriteSession, Promise<NppesView>>();
  const viewOf = (session: WriteSession): Promise<NppesView> => {
    let view = views.get(session);
    if (!view) {
      view = readView(sessionReader(session), keyed, owner.uri);
      views.set(session, view);
    }
    return view;
  };

  const unchangedEvent = (decision: Decision & { kind: 'unchanged' }): WriteEvent => ({
    type: 'written',
    outcome: 'unchanged',
    source: decision.planned.source,
    order: decision.planned.order,
    resource: decision.planned.label,
    normalizations: decision.planned.normalizations,
    key: decision.key,
  });
  const write = async (session: WriteSession, decision: Decision): Promise<WriteEvent> => {
    if (decision.kind === 'conflict') return conflictEvent(decision.planned, decision.message);
    if (decision.kind === 'rejected') return rejectedEvent(decision.planned, decision.issues);
    if (decision.kind === 'unchanged') return unchangedEvent(decision);
    try {
      return writtenEvent(decision.planned, await updateResource(session, decision.resource, options));
    } catch (err) {
      // The seam's own check (source-ownership.ts), should an owner have changed since the decision.
      if (isFhirError(err) && err.outcome.issue?.[0]?.code === 'conflict')
        return conflictEvent(decision.planned, err.outcome.issue[0].diagnostics ?? 'conflict');
      throw err;
    }
  };

  const works = keyed.map((unit): Work => {
    const keys = [
      { resourceType: 'Organization', id: unit.organizationId },
      ...unit.endpointIds.map((id) => ({ resourceType: 'Endpoint', id })),
    ];
    return {
      size: unit.unit.organizations.length + unit.unit.endpoints.length,
      keys,
      async run(session) {
        const view = await viewOf(session);
        // An NPI listed twice in one chunk (rows apart) sees what its first unit wrote.
        for (const key of keys) {
          const record = await session.read(key.resourceType, key.id);
          if (record) setCurrent(view, record);
        }
        const facts = viewFacts(view, unit);
        const early = ahead.get(unit);
        const decision =
          early && facts !== undefined && early.facts === facts
            ? early.decision
            : decideUnit(decider, unit, view);
        const events = [await write(session, decision.organization)];
        for (const ep of decision.endpoints) events.push(await write(session, ep));
        if (events[0]?.type === 'written') {
          hooks.listed(unit.npi);
          hooks.dropped(decision.dropped);
        }
        return events;
      },
      refused: (err) => [
        ...unit.unit.organizations.map((o) => rejectedEvent(o, refusalIssues(err, 'Organization'))),
        ...unit.unit.endpoints.map((e) => rejectedEvent(e, refusalIssues(err, 'Endpoint'))),
      ],
    };
  });

  return {
    works,
    async warm(): Promise<WriteEvent[] | undefined> {
      try {
        const view = await readView(storeReader(ctx.store), keyed, owner.uri);
        const pause = eventLoopYielder(WARM_SLICE_MS);
        const events: WriteEvent[] = [];
        const settled: Array<{ npi: string; dropped: string[] }> = [];
        for (const unit of keyed) {
          const decision = decideUnit(decider, unit, view);
          const facts = viewFacts(view, unit);
          if (facts !== undefined) ahead.set(unit, { facts, decision });
          for (const d of [decision.organization, ...decision.endpoints])
            if (d.kind === 'write') prepareAhead(d.resource);
            else if (d.kind === 'unchanged') events.push(unchangedEvent(d));
          settled.push({ npi: unit.npi, dropped: decision.dropped });
          await pause();
        }
        if (!mayShortcut || events.length < works.reduce((n, w) => n + w.size, 0)) return undefined;
        for (const unit of settled) {
          hooks.listed(unit.npi);
          hooks.dropped(unit.dropped);
        }
        return events;
      } catch {
        // Whatever could not be done ahead is done under the lock.
        return undefined;
      }
    },
  };

  function prepareAhead(resource: Resource & { id: string }): void {
    try {
      prepareWrite(resource, resource.id, options);
    } catch {
      // Decided again, and refused if it must be, under the lock.
    }
  }
}

/**
 * What decideUnit reads of the view for `unit`, when that is only the entries at its derived ids: the
 * change sequence of each (or none). Undefined when an Organization was found by identifier (the
 * unit is then always decided again).
 */
function viewFacts(view: NppesView, unit: KeyedUnit): string | undefined {
  if (view.byNpi.has(unit.npi)) return undefined;
  let facts = String(view.seqs.get(`Organization/${unit.organizationId}`) ?? '-');
  for (const id of unit.endpointIds) facts += `,${view.seqs.get(`Endpoint/${id}`) ?? '-'}`;
  return facts;
}

function keyedUnit(unit: VendorUnit, idPrefix: string): KeyedUnit {
  const org = unit.organizations[0];
  const npi = org?.match.value ?? '';
  const organizationId = nppesOrganizationId(idPrefix, npi);
  return {
    npi,
    unit,
    organizationId,
    endpointIds: unit.endpoints.map((e) => nppesEndpointId(organizationId, e.resource.address)),
  };
}
