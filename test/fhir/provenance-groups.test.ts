/**
 * One Provenance per activity of a transaction (src/fhir/provenance.ts `provenancesOf`): CREATE,
 * UPDATE and DELETE each get one Provenance whose targets are that activity's versions in write
 * order, at most MAX_TARGETS each; `recorded` is their latest lastUpdated; one version keeps the
 * shape of provenanceOf exactly.
 */
import type { Provenance } from '@medplum/fhirtypes';
import { MAX_TARGETS, provenanceOf, provenancesOf, type WriteActor } from '../../src/fhir/provenance';
import type { VersionRecord, WriteMethod } from '../../src/storage/version-record';

const AT = '2026-12-07T05:00:00.000Z';
const SOURCE: WriteActor = {
  kind: 'source',
  source: { name: 'peer', uri: 'https://peer.example.org/fhir' },
  reason: 'no longer listed',
};

function version(
  id: string,
  versionId: number,
  method: WriteMethod,
  more: Partial<VersionRecord> = {},
): VersionRecord {
  return {
    resourceType: 'Organization',
    id,
    versionId,
    lastUpdated: AT,
    deleted: method === 'DELETE',
    seq: 1,
    method,
    ...more,
  };
}

const targetsOf = (p: Provenance): string[] => (p.target ?? []).map((t) => t.reference ?? '');
const activityOf = (p: Provenance): string | undefined => p.activity?.coding?.[0]?.code;

describe('provenancesOf', () => {
  it('gives one version the one Provenance provenanceOf gives', () => {
    const one = version('a', 2, 'PUT');
    expect(provenancesOf([one], SOURCE)).toEqual([provenanceOf(one, SOURCE)]);
    expect(provenanceOf(one, SOURCE)).toEqual({
      resourceType: 'Provenance',
      target: [{ reference: 'Organization/a/_history/2' }],
      recorded: AT,
      activity: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation',
            code: 'UPDATE',
            display: 'update',
          },
        ],
      },
      reason: [{ text: 'no longer listed' }],
      agent: [
        {
          type: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
                code: 'author',
                display: 'Author',
              },
            ],
          },
          who: {
            type: 'Device',
            identifier: { system: 'urn:fhir-directory:source', value: 'peer' },
            display: 'peer',
          },
        },
      ],
      entity: [
        {
          role: 'source',
          what: {
            identifier: { system: 'urn:ietf:rfc:3986', value: 'https://peer.example.org/fhir' },
            display: 'source peer',
          },
        },
      ],
    });
  });

  it('groups by activity, in the order each first occurs, targets in write order', () => {
    const written = [
      version('u1', 3, 'PUT'),
      version('c1', 1, 'PUT'),
      version('d1', 4, 'DELETE'),
      version('c2', 1, 'POST'),
      version('u2', 2, 'PATCH'),
      // A PUT that brings back a deleted resource is an update; a POST is always a create.
      version('back', 5, 'PUT'),
    ];
    const provenances = provenancesOf(written, { kind: 'directory', source: 'members.json' });
    expect(provenances.map((p) => [activityOf(p), targetsOf(p)])).toEqual([
      [
        'UPDATE',
        ['Organization/u1/_history/3', 'Organization/u2/_history/2', 'Organization/back/_history/5'],
      ],
      ['CREATE', ['Organization/c1/_history/1', 'Organization/c2/_history/1']],
      ['DELETE', ['Organization/d1/_history/4']],
    ]);
    for (const p of provenances) {
      expect(p.agent?.[0]?.who?.identifier).toEqual({
        system: 'urn:fhir-directory:system',
        value: 'fhir-directory',
      });
      expect(p.entity?.[0]?.what.identifier?.value).toBe('members.json');
    }
  });

  it('records the latest lastUpdated of the versions', () => {
    const [p] = provenancesOf(
      [
        version('a', 1, 'POST', { lastUpdated: '2026-12-07T05:00:00.100Z' }),
        version('b', 1, 'POST', { lastUpdated: '2026-12-07T05:00:01.000Z' }),
        version('c', 1, 'POST', { lastUpdated: '2026-12-07T05:00:00.900Z' }),
      ],
      SOURCE,
    );
    expect(p?.recorded).toBe('2026-12-07T05:00:01.000Z');
  });

  it(`lists at most MAX_TARGETS (${MAX_TARGETS}) versions a Provenance, then goes on in the next`, () => {
    const created = Array.from({ length: 2 * MAX_TARGETS + 1 }, (_, n) => version(`c${n}`, 1, 'POST'));
    const updated = Array.from({ length: MAX_TARGETS }, (_, n) => version(`u${n}`, 2, 'PUT'));
    const provenances = provenancesOf([...created, ...updated], SOURCE);
    expect(provenances.map((p) => [activityOf(p), p.target?.length])).toEqual([
      ['CREATE', MAX_TARGETS],
      ['CREATE', MAX_TARGETS],
      ['CREATE', 1],
      ['UPDATE', MAX_TARGETS],
    ]);
    expect(provenances.slice(0, 3).flatMap(targetsOf)).toEqual(
      created.map((v) => `Organization/${v.id}/_history/1`),
    );
  });

  it('records nothing for nothing written', () => {
    expect(provenancesOf([], SOURCE)).toEqual([]);
  });
});
