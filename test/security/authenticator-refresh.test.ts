/**
 * The authenticator's client list after refresh(): a client registered while the 2 s poll's read is
 * under way is known once refresh() resolves. Before, refresh() joined the read under way, which
 * could have listed the clients before the registration, and a token minted for the new client was
 * answered 401 "the client the token was issued to is not registered" until the next poll (seen in
 * CI: test/http/search-dates.test.ts, every test of the file).
 */
import { Authenticator } from '../../src/security/authenticator';
import { createAuthStore, type AuthStore } from '../../src/storage/auth-store';
import { openOwnDatabase, type OwnDatabase } from '../helpers/own-database';

let own: OwnDatabase;
beforeAll(async () => {
  own = await openOwnDatabase();
});
afterAll(async () => {
  await own.db.close();
  await own.cleanup();
});

/** An authenticator over `store` whose own poll never fires during a test (refreshMs of an hour). */
const authenticatorOn = (store: AuthStore): Authenticator =>
  new Authenticator(store, {
    audience: 'http://127.0.0.1/fhir',
    issuer: 'http://127.0.0.1/auth/token',
    tokenTtlSeconds: 300,
    refreshMs: 3_600_000,
  });

/** The real store, whose next clientsRevision() read is held until `release()`. */
function storeWithHeldRead(store: AuthStore): { store: AuthStore; hold(): void; release(): void } {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const held: AuthStore = Object.create(store) as AuthStore;
  held.clientsRevision = async () => {
    const revision = await store.clientsRevision();
    if (gate) await gate;
    return revision;
  };
  return {
    store: held,
    hold: () => {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => {
      gate = undefined;
      open?.();
    },
  };
}

it('knows a client registered while a read is under way once refresh() resolves', async () => {
  const real = createAuthStore(own.db);
  const held = storeWithHeldRead(real);
  const authenticator = authenticatorOn(held.store);
  await authenticator.start();
  try {
    held.hold();
    const pollUnderWay = authenticator.refresh(); // read the revision before the client exists
    const client = await real.addClient({
      name: 'registered during a poll',
      admin: false,
      scopes: ['system/Endpoint.rs'],
      credentials: { kind: 'jwks', jwks: { keys: [] } },
    });
    const afterRegistration = authenticator.refresh();
    held.release();
    await pollUnderWay;
    await afterRegistration;
    expect(authenticator.client(client.clientId)?.name).toBe('registered during a poll');

    const { accessToken } = await authenticator.mint(client, 'system/Endpoint.rs');
    const principal = await authenticator.authenticate(`Bearer ${accessToken}`);
    expect(principal).toMatchObject({ clientId: client.clientId, admin: false });
  } finally {
    authenticator.close();
  }
});

it('shares one follow-up read among the callers that arrive while a read is under way', async () => {
  const real = createAuthStore(own.db);
  let reads = 0;
  const counted: AuthStore = Object.create(real) as AuthStore;
  counted.clientsRevision = () => {
    reads += 1;
    return real.clientsRevision();
  };
  const authenticator = authenticatorOn(counted);
  await authenticator.start();
  try {
    reads = 0;
    await Promise.all([authenticator.refresh(), authenticator.refresh(), authenticator.refresh()]);
    expect(reads).toBe(2);
  } finally {
    authenticator.close();
  }
});
