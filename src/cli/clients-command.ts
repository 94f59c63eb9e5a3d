/**
 * `fhir-directory clients …`: operators register and manage machine-to-machine clients on the
 * database itself, with the rules the admin API applies (src/security/client-registration.ts).
 * Every change goes through AuthStore.updateClient, whose new revision every running server on the
 * database notices within its refresh period (about 2 s).
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { loadConfig } from '../config';
import { openStore } from '../directory';
import { createLogger } from '../logger';
import { generateClientKey, type RegistrationProblem } from '../security/client-keys';
import {
  addKeys,
  checkChanges,
  checkRegistration,
  clientView,
  organizationNotice,
  removeKey,
  type ClientPatch,
} from '../security/client-registration';
import type { ClientChanges, ClientRecord, NewClient, PublicJwk } from '../storage/auth-store';
import type { ResourceStore } from '../storage/resource-store';
import {
  CLIENTS_USAGE,
  keySourceOf,
  parseClientsArgs,
  type ClientsArgs,
  type KeySource,
} from './clients-args';
import { printClientTable } from './client-table';
import { embeddedStoreInUse } from './embedded-store-in-use';
import type { CliIo, CliOutput } from './cli-io';

/** A refusal of what the operator asked for: printed, and the exit status. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2,
  ) {
    super(message);
  }
}

const OPTION_OF: Record<string, string> = {
  name: '--name',
  organization: '--organization',
  scopes: '--scope',
  jwks_url: '--jwks-url',
};

function refuse(problems: RegistrationProblem[], keyOption = '--jwks-file'): Refusal {
  const lines = problems.map((p) => {
    const option = OPTION_OF[p.field] ?? (p.field.startsWith('jwks') ? keyOption : p.field);
    return `${option}: ${OPTION_OF[p.field] ? '' : `${p.field} `}${p.message}`;
  });
  return new Refusal(lines.join('\n'), 2);
}

const print = (out: CliOutput, value: unknown): void => void out.write(`${JSON.stringify(value, null, 2)}\n`);

/** The keys (or URL) a key option stands for; a generated key's private half is written only later. */
interface LoadedKeys {
  patch: Pick<ClientPatch, 'jwks' | 'jwksUrl'>;
  /** For --generate-key: what to write to OUT.json once the registration passed. */
  privateKey?: { out: string; jwk: object };
  keyOption: string;
}

async function loadKeys(source: KeySource): Promise<LoadedKeys> {
  if (source.kind === 'jwks-url') return { patch: { jwksUrl: source.url }, keyOption: '--jwks-url' };
  if (source.kind === 'generate-key') {
    if (existsSync(source.out))
      throw new Refusal(`--generate-key: ${source.out} exists; it is never overwritten`, 2);
    const { publicJwk, privateJwk } = await generateClientKey();
    return {
      patch: { jwks: { keys: [publicJwk] } },
      privateKey: { out: source.out, jwk: privateJwk },
      keyOption: '--generate-key',
    };
  }
  let text: string;
  try {
    text = await readFile(source.file, 'utf8');
  } catch (err) {
    throw new Refusal(`--jwks-file: cannot read ${source.file} (${(err as NodeJS.ErrnoException).code})`, 2);
  }
  try {
    return { patch: { jwks: JSON.parse(text) as unknown }, keyOption: '--jwks-file' };
  } catch (err) {
    throw new Refusal(`--jwks-file: ${source.file} is not JSON (${(err as Error).message})`, 2);
  }
}

/** Writes the private JWK with mode 600, refusing an existing file (`wx`), then runs `work`; undone if it fails. */
async function withPrivateKeyFile<T>(keys: LoadedKeys, work: () => Promise<T>): Promise<T> {
  if (!keys.privateKey) return work();
  const { out, jwk } = keys.privateKey;
  try {
    await writeFile(out, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Refusal(
      `--generate-key: cannot write ${out} (${code === 'EEXIST' ? 'it exists; it is never overwritten' : code})`,
      2,
    );
  }
  try {
    return await work();
  } catch (err) {
    await unlink(out).catch(() => undefined);
    throw err;
  }
}

function keySource(args: ClientsArgs): KeySource {
  const source = keySourceOf(args);
  if ('error' in source) throw new Refusal(source.error, 2);
  return source;
}

interface PreparedAdd {
  client: NewClient;
  keys: LoadedKeys;
}

/** Everything `add` can check without the store, so a refusal needs no database. */
async function prepareAdd(args: ClientsArgs): Promise<PreparedAdd> {
  const keys = await loadKeys(keySource(args));
  const organization = args.options.get('--organization');
  const scope = args.options.get('--scope');
  const checked = await checkRegistration({
    name: args.options.get('--name') ?? '',
    ...(organization !== undefined ? { organization } : {}),
    admin: args.flags.has('--admin'),
    ...(scope !== undefined ? { scopes: [scope] } : {}),
    ...keys.patch,
  });
  if (!checked.ok) throw refuse(checked.problems, keys.keyOption);
  return { client: checked.value, keys };
}

async function add(store: ResourceStore, { client, keys }: PreparedAdd, io: CliIo): Promise<void> {
  if (client.organization !== undefined) {
    const notice = await organizationNotice(store, client.organization);
    if (notice) io.stderr.write(`warning: ${notice}\n`);
  }
  const added = await withPrivateKeyFile(keys, () => store.auth.addClient(client));
  print(io.stdout, {
    ...clientView(added),
    ...(keys.privateKey ? { private_key_file: keys.privateKey.out } : {}),
  });
}

async function existing(store: ResourceStore, id: string): Promise<ClientRecord> {
  const client = await store.auth.getClient(id);
  if (!client) throw new Refusal(`no client has the id ${id} (clients list shows them)`, 1);
  return client;
}

async function update(store: ResourceStore, id: string, changes: ClientChanges): Promise<ClientRecord> {
  const updated = await store.auth.updateClient(id, changes);
  if (!updated) throw new Refusal(`no client has the id ${id}`, 1);
  return updated;
}

async function rotateKey(store: ResourceStore, args: ClientsArgs, io: CliIo): Promise<void> {
  const id = args.positional[0] as string;
  const current = await existing(store, id);
  const keys = await loadKeys(keySource(args));
  let changes: ClientChanges;
  if (args.flags.has('--add-key')) {
    if (keys.patch.jwks === undefined)
      throw new Refusal('--add-key: a JWKS URL replaces the keys; publish the new key at the URL instead', 2);
    const jwks = keys.patch.jwks as { keys?: unknown };
    if (!Array.isArray(jwks.keys))
      throw refuse([{ field: 'jwks', message: 'must have a "keys" array' }], keys.keyOption);
    const merged = await addKeys(current, jwks.keys as PublicJwk[]);
    if (!merged.ok) throw refuse(merged.problems, keys.keyOption);
    changes = { credentials: merged.value };
  } else {
    const checked = await checkChanges(current, keys.patch);
    if (!checked.ok) throw refuse(checked.problems, keys.keyOption);
    changes = checked.value;
  }
  const client = await withPrivateKeyFile(keys, () => update(store, id, changes));
  print(io.stdout, {
    ...clientView(client),
    ...(keys.privateKey ? { private_key_file: keys.privateKey.out } : {}),
  });
}

type Handler = (store: ResourceStore, args: ClientsArgs, io: CliIo) => Promise<void>;

const HANDLERS: Record<Exclude<ClientsArgs['action'], 'add'>, Handler> = {
  async list(store, args, io) {
    const clients = await store.auth.listClients();
    if (args.flags.has('--json')) print(io.stdout, clients.map(clientView));
    else printClientTable(clients, io.stdout);
  },
  async show(store, args, io) {
    print(io.stdout, clientView(await existing(store, args.positional[0] as string)));
  },
  async disable(store, args, io) {
    print(io.stdout, clientView(await update(store, args.positional[0] as string, { disabled: true })));
  },
  async enable(store, args, io) {
    print(io.stdout, clientView(await update(store, args.positional[0] as string, { disabled: false })));
  },
  'rotate-key': rotateKey,
  async 'remove-key'(store, args, io) {
    const [id, kid] = args.positional as [string, string];
    const removed = removeKey(await existing(store, id), kid);
    if (!removed.ok) throw refuse(removed.problems);
    print(io.stdout, clientView(await update(store, id, { credentials: removed.value })));
  },
  async 'set-scopes'(store, args, io) {
    const [id, scopes] = args.positional as [string, string];
    const checked = await checkChanges(await existing(store, id), { scopes: [scopes] });
    if (!checked.ok) throw refuse(checked.problems);
    print(io.stdout, clientView(await update(store, id, checked.value)));
  },
};

export async function runClients(args: string[], io: CliIo): Promise<number> {
  if (args[0] === 'help' || args[0] === '--help') {
    io.stdout.write(CLIENTS_USAGE);
    return 0;
  }
  const parsed = parseClientsArgs(args);
  if ('error' in parsed) {
    io.stderr.write(`fhir-directory clients: ${parsed.error}\n\n${CLIENTS_USAGE}`);
    return 2;
  }
  try {
    const prepared = parsed.action === 'add' ? await prepareAdd(parsed) : undefined;
    const config = loadConfig(io.env);
    const inUse = embeddedStoreInUse(config);
    if (inUse) throw new Refusal(inUse, 1);
    const store = await openStore(config, createLogger('warn', io.log));
    try {
      if (prepared) await add(store, prepared, io);
      else await HANDLERS[parsed.action as Exclude<ClientsArgs['action'], 'add'>](store, parsed, io);
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    io.stderr.write(`fhir-directory clients ${parsed.action}: ${err.message.split('\n').join('\n  ')}\n`);
    return err.code;
  }
}
