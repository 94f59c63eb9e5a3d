/**
 * One outbound GET for capability discovery, with what a check must record and what a crawler of
 * typed-in URLs must refuse. Built on node:net/node:tls and node:http rather than fhir-kit-client or
 * fetch: neither exposes the TLS protocol version or the server certificate, and neither lets us
 * judge the address a name resolved to before connecting to it.
 *
 * - The address is checked at connect time, in the `lookup` the socket itself uses, so the address
 *   judged is the address connected to (no DNS-rebinding window); an IP literal, which needs no
 *   lookup, is judged before connecting. A refused target gets no connection at all.
 * - Redirects are followed by hand (at most MAX_REDIRECTS), each hop checked again, scheme included.
 * - TLS: the handshake is made first with verification recorded rather than enforced, so a check of
 *   a server with a bad certificate still records its protocol and expiry; then an unverified
 *   connection is closed before a byte of HTTP is sent. SNI and Host carry the URL's name.
 * - Connect timeout (DNS, TCP and TLS), one total deadline over all hops, a body size cap, our
 *   User-Agent, `Connection: close`, and no credentials: nothing but Accept and User-Agent is sent.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { secureContextFor } from './secure-contexts';
import { checkAddress, checkScheme, type TargetPolicy, UnsafeTargetError } from './target-policy';

export interface FetchOptions extends TargetPolicy {
  connectTimeoutMs: number;
  totalTimeoutMs: number;
  maxBytes: number;
  userAgent: string;
  /** Certificate authorities to trust instead of Node's (a private network's; tests). */
  ca?: string | Buffer;
}

export const MAX_REDIRECTS = 5;

/** How a fetch failed, as a check's status names it. */
export type FetchFailureKind =
  'refused-unsafe-target' | 'unreachable' | 'timeout' | 'tls-error' | 'too-large' | 'too-many-redirects';

/** What the TLS handshake showed (absent for http). */
export interface TlsFacts {
  tlsVersion?: string;
  /** The server certificate's notAfter, ISO 8601. */
  certificateExpires?: string;
}

export class FetchFailure extends Error {
  constructor(
    readonly kind: FetchFailureKind,
    message: string,
    readonly tls: TlsFacts = {},
  ) {
    super(message);
    this.name = 'FetchFailure';
  }
}

export interface FetchResponse extends TlsFacts {
  /** The URL that answered (after redirects). */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** From the request to the last byte of the answer, all hops. */
  responseMs: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function safeFetch(
  address: string,
  accept: string,
  options: FetchOptions,
): Promise<FetchResponse> {
  const started = performance.now();
  const deadline = Date.now() + options.totalTimeoutMs;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new FetchFailure('unreachable', `not a URL: ${address}`);
  }
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    const answer = await fetchOne(url, accept, options, deadline);
    if (!REDIRECTS.has(answer.status) || typeof answer.headers.location !== 'string')
      return { ...answer, url: url.href, responseMs: Math.round(performance.now() - started) };
    seen.add(url.href);
    const next = new URL(answer.headers.location, url);
    if (hop + 1 > MAX_REDIRECTS || seen.has(next.href))
      throw new FetchFailure(
        'too-many-redirects',
        seen.has(next.href) ? `redirect loop at ${next.href}` : `more than ${MAX_REDIRECTS} redirects`,
        tlsFactsIn(answer),
      );
    url = next;
  }
}

type Answer = Omit<FetchResponse, 'url' | 'responseMs'>;

async function fetchOne(url: URL, accept: string, options: FetchOptions, deadline: number): Promise<Answer> {
  try {
    checkScheme(url, options);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) checkAddress(host, options);
  } catch (err) {
    throw new FetchFailure('refused-unsafe-target', (err as Error).message);
  }
  const { socket, tls } = await connectTo(url, options, deadline);
  return exchange(socket, url, accept, options, deadline, tls);
}

/** The socket's lookup: resolves, then keeps only the addresses the policy allows (none: refused). */
function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { all: true, family: lookupOptions.family ?? 0 }, (err, found: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refusals: string[] = [];
      const allowed = found.filter((a) => {
        try {
          checkAddress(a.address, policy);
          return true;
        } catch (refusal) {
          refusals.push((refusal as Error).message);
          return false;
        }
      });
      const first = allowed[0];
      if (!first) return callback(new UnsafeTargetError(`${hostname}: ${refusals.join('; ')}`), '', 0);
      // net asks for every address when it races IPv4 and IPv6 (autoSelectFamily), else for one.
      if (lookupOptions.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, first.address, first.family);
    });
  };
}

function connectTo(
  url: URL,
  options: FetchOptions,
  deadline: number,
): Promise<{ socket: Socket; tls: TlsFacts }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const lookup = guardedLookup(options);
  return new Promise((resolve, reject) => {
    const socket: Socket = secure
      ? tlsConnect({
          host,
          port,
          lookup,
          ...(isIP(host) ? {} : { servername: host }),
          rejectUnauthorized: false, // judged below, after the facts are read
          ALPNProtocols: ['http/1.1'],
          secureContext: secureContextFor(options.ca),
        })
      : netConnect({ host, port, lookup });
    const wait = Math.min(options.connectTimeoutMs, Math.max(0, deadline - Date.now()));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FetchFailure('timeout', `no connection to ${url.host} within ${wait} ms`));
    }, wait);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(
        err instanceof UnsafeTargetError
          ? new FetchFailure('refused-unsafe-target', err.message)
          : new FetchFailure(secure && isTlsError(err) ? 'tls-error' : 'unreachable', describe(err)),
      );
    });
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      const tls = secure ? tlsFactsOf(socket as TLSSocket) : {};
      const tlsSocket = socket as TLSSocket;
      if (secure && !tlsSocket.authorized) {
        socket.destroy();
        const reason = tlsSocket.authorizationError;
        reject(new FetchFailure('tls-error', `certificate not trusted: ${String(reason)}`, tls));
        return;
      }
      resolve({ socket, tls });
    });
  });
}

function tlsFactsIn(answer: TlsFacts): TlsFacts {
  const facts: TlsFacts = {};
  if (answer.tlsVersion) facts.tlsVersion = answer.tlsVersion;
  if (answer.certificateExpires) facts.certificateExpires = answer.certificateExpires;
  return facts;
}

function tlsFactsOf(socket: TLSSocket): TlsFacts {
  const facts: TlsFacts = {};
  const protocol = socket.getProtocol();
  if (protocol) facts.tlsVersion = protocol;
  // The X509Certificate reads one field on demand; getPeerCertificate() builds every field and three
  // fingerprints of the certificate at each call.
  const validTo = socket.getPeerX509Certificate()?.validTo;
  if (validTo) {
    const expires = new Date(validTo);
    if (!Number.isNaN(expires.getTime())) facts.certificateExpires = expires.toISOString();
  }
  return facts;
}

function exchange(
  socket: Socket,
  url: URL,
  accept: string,
  options: FetchOptions,
  deadline: number,
  tls: TlsFacts,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const fail = (failure: FetchFailure): void => {
      clearTimeout(timer);
      req.destroy();
      socket.destroy();
      reject(failure);
    };
    const timer = setTimeout(
      () => fail(new FetchFailure('timeout', `no complete answer within the total timeout`, tls)),
      Math.max(0, deadline - Date.now()),
    );
    const req = request({
      createConnection: () => socket,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      headers: { host: url.host, accept, 'user-agent': options.userAgent, connection: 'close' },
    });
    req.once('error', (err) => fail(new FetchFailure('unreachable', describe(err), tls)));
    req.once('response', (res) => {
      const declared = Number(res.headers['content-length']);
      if (declared > options.maxBytes)
        return fail(
          new FetchFailure('too-large', `answer of ${declared} bytes is over ${options.maxBytes}`, tls),
        );
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes)
          return fail(new FetchFailure('too-large', `answer is over ${options.maxBytes} bytes`, tls));
        chunks.push(chunk);
      });
      res.once('error', (err) => fail(new FetchFailure('unreachable', describe(err), tls)));
      res.once('end', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...tls });
      });
    });
    req.end();
  });
}

function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS|certificate/i.test(err.message);
}

function describe(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
