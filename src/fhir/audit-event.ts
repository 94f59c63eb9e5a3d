/**
 * A security event (src/security/security-events.ts) as the AuditEvent the directory keeps of it
 * (FHIR R4 auditevent.html). Pure: audit-event-sink.ts writes them. What goes in is only who, what
 * and why: the event carries no token, assertion or key, and a request's query (where RFC 6750
 * allows an `access_token`) is dropped from its path here as well.
 *
 * - Token events: type DICOM 110114 "User Authentication", subtype 110122 "Login", action E.
 * - Refused FHIR requests: type `rest` (audit-event-type), subtype the RESTful interaction
 *   (restful-interaction: create, update, patch, delete, transaction, read, search-type), action
 *   by method.
 * - outcome: 0 success; 4 minor failure (a refused token request: the client may try again with a
 *   good assertion); 8 serious failure (a refused FHIR request: it was not carried out).
 *   outcomeDesc: the OAuth error or issue code, then the reason.
 * - agent: the client as a Device (provenance.ts), requestor, with the caller's network address;
 *   source.observer: the directory; entity: the resource a refused request aimed at, when known.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import type { SecurityEvent } from '../security/security-events';
import { clientDevice, DIRECTORY_DEVICE } from './provenance';

export const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
export const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const NETWORK_IP_ADDRESS = '2';

const USER_AUTHENTICATION: Coding = { system: DICOM, code: '110114', display: 'User Authentication' };
const LOGIN: Coding = { system: DICOM, code: '110122', display: 'Login' };
const REST: Coding = { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' };

type Action = NonNullable<AuditEvent['action']>;

/** The RESTful interaction and action of a refused request, from its method and path. */
function interactionOf(method: string | undefined, path: string): { code: string; action: Action } {
  const m = (method ?? '').toUpperCase();
  const base = /\/fhir\/?$/.test(path);
  if (m === 'POST' && base) return { code: 'transaction', action: 'E' };
  if (m === 'POST' && path.endsWith('/_search')) return { code: 'search-type', action: 'E' };
  if (m === 'POST') return { code: 'create', action: 'C' };
  if (m === 'PUT') return { code: 'update', action: 'U' };
  if (m === 'PATCH') return { code: 'patch', action: 'U' };
  if (m === 'DELETE') return { code: 'delete', action: 'D' };
  return { code: /\/fhir\/[A-Za-z]+\/?$/.test(path) ? 'search-type' : 'read', action: 'R' };
}

/** The path without its query or fragment. */
const pathOnly = (path: string): string => path.split(/[?#]/, 1)[0] ?? '';

function agentOf(event: SecurityEvent): AuditEventAgent {
  return {
    who: event.clientId ? clientDevice(event.clientId) : { display: 'unidentified client' },
    requestor: true,
    ...(event.address ? { network: { address: event.address, type: NETWORK_IP_ADDRESS } } : {}),
  };
}

function entitiesOf(event: SecurityEvent, path: string): AuditEventEntity[] {
  if (!event.target && !path) return [];
  const entity: AuditEventEntity = {};
  if (event.target) entity.what = { reference: event.target };
  if (path) entity.description = `${event.method ? `${event.method.toUpperCase()} ` : ''}${path}`;
  return [entity];
}

function outcomeOf(event: SecurityEvent): AuditEvent['outcome'] {
  if (event.kind === 'token-issued') return '0';
  return event.kind === 'token-refused' ? '4' : '8';
}

export function auditEventOf(event: SecurityEvent): AuditEvent {
  const path = pathOnly(event.path ?? '');
  const token = event.kind !== 'access-refused';
  const rest = interactionOf(event.method, path);
  const desc = [event.outcome, event.reason].filter((part) => part !== '').join(': ');
  const entity = entitiesOf(event, path);
  return {
    resourceType: 'AuditEvent',
    type: token ? USER_AUTHENTICATION : REST,
    subtype: [token ? LOGIN : { system: RESTFUL_INTERACTION, code: rest.code }],
    action: token ? 'E' : rest.action,
    recorded: event.at,
    outcome: outcomeOf(event),
    ...(desc ? { outcomeDesc: desc } : {}),
    agent: [agentOf(event)],
    source: {
      observer: { ...DIRECTORY_DEVICE },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    ...(entity.length > 0 ? { entity } : {}),
  };
}
