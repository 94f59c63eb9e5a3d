/**
 * The command line of `fhir-directory clients <action> …`: which action, its positional arguments and
 * its options, or why the command line is wrong (exit 2 with the usage).
 */

export const CLIENTS_USAGE = `Usage: fhir-directory clients <action> [options]

  add --name NAME --organization Organization/ID [--admin] [--scope "SCOPES"]
      (--jwks-url URL | --jwks-file FILE | --generate-key OUT.json)
                          Register a client; prints it as JSON. --generate-key makes an ES384 key pair:
                          the private JWK goes to OUT.json (mode 600, never overwritten), the public one
                          is registered. Default scopes: system/Organization.cruds system/Endpoint.cruds
                          (admin: system/*.cruds system/introspect). An admin client may omit --organization
  list [--json]           All clients, as a table (or JSON)
  show ID                 One client as JSON
  disable ID | enable ID  A disabled client gets no tokens, and its tokens stop working (within ~2 s)
  rotate-key ID (--jwks-url URL | --jwks-file FILE | --generate-key OUT.json) [--add-key]
                          Replace the client's keys; --add-key keeps the registered keys too, so
                          assertions signed with the old or the new key verify during the rotation
  remove-key ID KID       Drop one registered key (the end of a rotation)
  set-scopes ID "SCOPES"  Replace the scopes the client may be granted

Works on the database directly (DATABASE_URL, or the embedded store in DATA_DIR while no server runs
on it). Exits 0 on success, 1 when the client is unknown or the store cannot be used, 2 for a wrong
command line or a value the directory refuses (scope, organization, key).
`;

export type ClientsAction =
  'add' | 'list' | 'show' | 'disable' | 'enable' | 'rotate-key' | 'remove-key' | 'set-scopes';

/** How many positional arguments each action takes, and which options. */
const ACTIONS: Record<ClientsAction, { positional: number; options: string[]; flags: string[] }> = {
  add: {
    positional: 0,
    options: ['--name', '--organization', '--scope', '--jwks-url', '--jwks-file', '--generate-key'],
    flags: ['--admin'],
  },
  list: { positional: 0, options: [], flags: ['--json'] },
  show: { positional: 1, options: [], flags: [] },
  disable: { positional: 1, options: [], flags: [] },
  enable: { positional: 1, options: [], flags: [] },
  'rotate-key': {
    positional: 1,
    options: ['--jwks-url', '--jwks-file', '--generate-key'],
    flags: ['--add-key'],
  },
  'remove-key': { positional: 2, options: [], flags: [] },
  'set-scopes': { positional: 2, options: [], flags: [] },
};

export interface ClientsArgs {
  action: ClientsAction;
  positional: string[];
  /** `--name` → value. */
  options: Map<string, string>;
  flags: Set<string>;
}

const isAction = (value: string | undefined): value is ClientsAction =>
  value !== undefined && Object.hasOwn(ACTIONS, value);

/** The parsed command line, or what is wrong with it. */
export function parseClientsArgs(args: string[]): ClientsArgs | { error: string } {
  const [action, ...rest] = args;
  if (!isAction(action))
    return { error: action === undefined ? 'an action is required' : `unknown action '${action}'` };
  const spec = ACTIONS[action];
  const parsed: ClientsArgs = { action, positional: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (spec.flags.includes(arg)) parsed.flags.add(arg);
    else if (spec.options.includes(arg)) {
      const value = rest[++i];
      if (value === undefined || value === '') return { error: `${arg} needs a value` };
      if (parsed.options.has(arg)) return { error: `${arg} is given twice` };
      parsed.options.set(arg, value);
    } else if (arg.startsWith('--')) return { error: `'${arg}' is not an option of clients ${action}` };
    else parsed.positional.push(arg);
  }
  if (parsed.positional.length !== spec.positional)
    return {
      error: `clients ${action} takes ${spec.positional} argument(s), got ${parsed.positional.length}`,
    };
  return parsed;
}

/** The one key source of `add` and `rotate-key`. */
export type KeySource =
  | { kind: 'jwks-url'; url: string }
  | { kind: 'jwks-file'; file: string }
  | { kind: 'generate-key'; out: string };

export function keySourceOf(args: ClientsArgs): KeySource | { error: string } {
  const given = (['--jwks-url', '--jwks-file', '--generate-key'] as const).filter((o) => args.options.has(o));
  if (given.length !== 1) return { error: 'give exactly one of --jwks-url, --jwks-file and --generate-key' };
  const option = given[0] as '--jwks-url' | '--jwks-file' | '--generate-key';
  const value = args.options.get(option) as string;
  if (option === '--jwks-url') return { kind: 'jwks-url', url: value };
  if (option === '--jwks-file') return { kind: 'jwks-file', file: value };
  return { kind: 'generate-key', out: value };
}
