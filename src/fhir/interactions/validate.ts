/**
 * The `$validate` operation (FHIR R4 resource-operation-validate): `POST [type]/$validate` and
 * `POST|GET [type]/[id]/$validate`. The body is the resource itself or a Parameters resource with
 * `resource`, `mode` (create | update | delete | profile) and `profile`; `mode` and `profile` may also
 * come in the query. The answer is 200 with an OperationOutcome listing every issue (errors and
 * warnings) or saying all is well; nothing is ever stored. A request the operation cannot carry out
 * (an unknown profile, a bad mode, no resource) is a 4xx.
 */
import type {
  OperationOutcomeIssue,
  Organization,
  Parameters,
  ParametersParameter,
  Resource,
  StructureDefinition,
} from '@medplum/fhirtypes';
import { FhirError, gone, invalid, isFhirError, issue, notFound, outcomeOf } from '../errors';
import { hasContainedEndpoints, splitContainedEndpoints } from './contained-endpoints';
import type { FhirContext } from '../context';
import { profileValidator } from '../profiles/register-profiles';
import { prefixExpression } from '../validation/resource-validator';
import type { FhirRequest, FhirResult } from '../request';
import { requireResource, requireResourceSize, requireValidId } from '../resource-body';

const MODES = ['create', 'update', 'delete', 'profile'] as const;
type Mode = (typeof MODES)[number];

const BASE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';

interface ValidateInput {
  resource?: unknown;
  /** Where the resource was sent: the body's type, or `Parameters.parameter[i].resource`. */
  resourceAt?: string;
  mode?: Mode;
  profile?: string;
}

export async function validateOperation(
  ctx: FhirContext,
  request: FhirRequest,
  type: string,
  id?: string,
): Promise<FhirResult> {
  if (id !== undefined) requireValidId(id);
  const input = readInput(request);
  if ((input.mode === 'update' || input.mode === 'delete') && id === undefined)
    throw invalid(`mode=${input.mode} validates an existing resource: use [type]/[id]/$validate`, 'mode');

  const stored = id === undefined ? undefined : await storedResource(ctx, type, id, input);
  if (input.mode === 'delete') {
    return answer([
      issue('informational', `${type}/${id ?? ''} exists and may be deleted`, undefined, 'information'),
    ]);
  }
  const resource = requireResource(input.resource ?? stored, type);
  // The same bound as a write: validation time grows with the size (about 2 ms per KB).
  if (input.resource !== undefined)
    requireResourceSize(resource, ctx.limits.resourceBytes, input.resourceAt ?? type);
  const profile = chooseProfile(ctx, type, input.profile);

  const issues: OperationOutcomeIssue[] = [];
  if (id !== undefined && input.resource !== undefined && resource.id !== id) {
    issues.push(
      issue('invalid', `The resource id '${String(resource.id)}' is not the URL id '${id}'`, `${type}.id`),
    );
  }
  issues.push(...ctx.validator.report(resource).structural);
  if (profile) issues.push(...profileIssues(ctx, resource, profile));
  if (hasContainedEndpoints(resource)) issues.push(...containedEndpointIssues(ctx, resource, id));
  if (issues.length === 0) {
    const against = profile ? `the profile ${profile.url}` : `base FHIR R4 ${type}`;
    return answer([
      issue('informational', `All OK: the ${type} conforms to ${against}`, undefined, 'information'),
    ]);
  }
  return answer(issues);
}

function answer(issues: OperationOutcomeIssue[]): FhirResult {
  return { status: 200, body: outcomeOf(issues) };
}

async function storedResource(
  ctx: FhirContext,
  type: string,
  id: string,
  input: ValidateInput,
): Promise<Resource | undefined> {
  const current = await ctx.store.read(type, id);
  // A client may validate a resource it is about to create at a chosen id (update-as-create).
  if (!current) {
    if (input.resource !== undefined && input.mode !== 'delete') return undefined;
    throw notFound(`${type}/${id}`);
  }
  if (current.deleted || current.content === undefined) {
    if (input.resource !== undefined && input.mode !== 'delete') return undefined;
    throw gone(type, id);
  }
  return JSON.parse(current.content) as Resource;
}

function profileIssues(
  ctx: FhirContext,
  resource: Resource,
  profile: StructureDefinition,
): OperationOutcomeIssue[] {
  try {
    return profileValidator(ctx.profiles).validate(resource, profile);
  } catch (err) {
    // A resource too broken for the profile walk: its base problems are already reported.
    return [
      issue(
        'structure',
        `Not checked against ${profile.url}: ${(err as Error).message}`,
        resource.resourceType,
        'warning',
      ),
    ];
  }
}

/** A write stores contained Endpoints as Endpoints (contained-endpoints.ts): they are checked as such. */
function containedEndpointIssues(
  ctx: FhirContext,
  organization: Organization,
  id?: string,
): OperationOutcomeIssue[] {
  let split;
  try {
    split = splitContainedEndpoints(organization, organization.id ?? id ?? 'new');
  } catch (err) {
    if (isFhirError(err)) return err.outcome.issue ?? [];
    throw err;
  }
  const endpointProfile = ctx.profiles.byType.get('Endpoint');
  return split.endpoints.flatMap(({ expression, resource }) => {
    const found = [
      ...ctx.validator.report(resource).structural,
      ...(endpointProfile ? profileIssues(ctx, resource, endpointProfile) : []),
    ];
    return found.map((i) => prefixExpression(i, expression, 'Endpoint'));
  });
}

/** Our profile of the type by default; another one only when we know it; base R4 on request. */
function chooseProfile(ctx: FhirContext, type: string, requested?: string): StructureDefinition | undefined {
  if (requested === undefined) return ctx.profiles.byType.get(type);
  const [url = '', version] = requested.split('|');
  if (url === `${BASE_PROFILE}${type}`) return undefined;
  const profile = ctx.profiles.byUrl.get(url);
  if (!profile || (version !== undefined && profile.version !== version)) {
    const known = [...ctx.profiles.byUrl.values()]
      .filter((sd) => sd.type === type)
      .map((sd) => `${sd.url}|${sd.version ?? ''}`);
    throw new FhirError(
      outcomeOf([
        issue(
          'not-supported',
          `Profile '${requested}' is not known to this server; for ${type} it knows ${[...known, `${BASE_PROFILE}${type}`].join(', ')}`,
          'profile',
        ),
      ]),
      400,
    );
  }
  if (profile.type !== type)
    throw invalid(`Profile '${requested}' constrains ${profile.type}, not ${type}`, 'profile');
  return profile;
}

function readInput(request: FhirRequest): ValidateInput {
  const input: ValidateInput = {};
  const body = request.body;
  if (isParameters(body)) {
    const parameters: unknown = body.parameter ?? [];
    if (!Array.isArray(parameters))
      throw invalid('Parameters.parameter must be an array', 'Parameters.parameter');
    for (const [index, p] of (parameters as unknown[]).entries()) {
      const at = `Parameters.parameter[${index}]`;
      if (!isParameter(p)) throw invalid('A parameter must be an object with a name', at);
      if (p.name === 'resource') {
        if (p.resource === undefined) throw invalid('The resource parameter carries no resource', at);
        input.resource = p.resource;
        input.resourceAt = `${at}.resource`;
      } else if (p.name === 'mode') {
        input.mode = parseMode(stringValue(p, ['valueCode', 'valueString'], at), `${at}.valueCode`);
      } else if (p.name === 'profile') {
        const profile = stringValue(p, ['valueUri', 'valueCanonical', 'valueString'], at);
        if (!profile) throw invalid('The profile parameter carries no uri', at);
        input.profile = profile;
      } else {
        throw invalid(
          `Unknown $validate parameter '${String(p.name)}' (resource, mode, profile)`,
          `${at}.name`,
        );
      }
    }
  } else if (body !== undefined) {
    input.resource = body;
  }
  const mode = request.query.get('mode');
  if (mode !== null) input.mode = parseMode(mode, 'mode');
  const profile = request.query.get('profile');
  if (profile !== null && profile !== '') input.profile = profile;
  return input;
}

/** The first of `members` the parameter has; a value that is not a string is a 400 (not a crash). */
function stringValue(
  p: ParametersParameter,
  members: ReadonlyArray<'valueCode' | 'valueString' | 'valueUri' | 'valueCanonical'>,
  at: string,
): string | undefined {
  for (const member of members) {
    const value: unknown = p[member];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw invalid(`${at}.${member} must be a string`, `${at}.${member}`);
    return value;
  }
  return undefined;
}

function parseMode(value: string | undefined, expression: string): Mode {
  const mode = MODES.find((m) => m === value);
  if (!mode) throw invalid(`mode must be one of ${MODES.join(', ')}, not '${String(value)}'`, expression);
  return mode;
}

function isParameter(value: unknown): value is ParametersParameter {
  return (
    typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string'
  );
}

function isParameters(body: unknown): body is Parameters {
  return typeof body === 'object' && body !== null && (body as Resource).resourceType === 'Parameters';
}
