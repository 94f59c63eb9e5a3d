'use strict';
/*
 * The bearer token the bench's writes carry (load.js --via-api, run.js's BENCH_WRITES_PER_SEC
 * writer): writes are about to need one. One admin client, registered in the store itself (found by
 * its name on later runs, so runs do not pile up clients), with tokens minted by the directory's own
 * Authenticator exactly as its token endpoint mints them, each renewed at half its lifetime
 * (ACCESS_TOKEN_TTL_SECONDS is at most 300 s; a load takes longer).
 */

const CLIENT_NAME = 'bench loader';
const SCOPE = 'system/*.cruds';

/**
 * For a directory started in-process (startDirectory's RunningDirectory): a function that resolves
 * to `{ authorization: 'Bearer …' }`, minting a new token when the last one is half-way to expiry.
 */
async function benchAuthorization(dir) {
  const authenticator = dir.ctx.access && dir.ctx.access.authenticator;
  if (!authenticator) throw new Error('the directory has no access control: cannot mint a token');
  const clients = await dir.store.auth.listClients();
  const client =
    clients.find((c) => c.name === CLIENT_NAME && c.admin && !c.disabled) ||
    (await dir.store.auth.addClient({
      name: CLIENT_NAME,
      admin: true,
      scopes: [SCOPE],
      credentials: { kind: 'jwks', jwks: { keys: [] } },
    }));
  await authenticator.refresh();
  let header;
  let renewAt = 0;
  return async function authorization() {
    if (Date.now() >= renewAt) {
      const issued = await authenticator.mint(client, SCOPE);
      header = { authorization: `Bearer ${issued.accessToken}` };
      renewAt = Date.now() + (issued.expiresIn * 1000) / 2;
    }
    return header;
  };
}

module.exports = { benchAuthorization, BENCH_CLIENT_NAME: CLIENT_NAME, BENCH_SCOPE: SCOPE };
