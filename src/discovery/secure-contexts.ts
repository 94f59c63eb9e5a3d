/**
 * One TLS client context per set of trusted CAs, made once and shared by every discovery connection.
 *
 * `tls.connect` without a `secureContext` builds a new one for every connection (and parses the `ca`
 * PEM again when one is given): in a crawl, three or four connections per endpoint, that was a large
 * part of the directory's CPU per check (bench/discovery-crawl.js profile). A context holds no
 * per-connection state (no session resumption here), so sharing it changes nothing a check records.
 */
import { createSecureContext, type SecureContext } from 'node:tls';

const contexts = new Map<string, SecureContext>();

/** The context trusting `ca` instead of Node's CAs, or Node's (with NODE_EXTRA_CA_CERTS) when absent. */
export function secureContextFor(ca?: string | Buffer): SecureContext {
  const key = ca === undefined ? '' : ca.toString();
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext(ca === undefined ? {} : { ca });
    contexts.set(key, context);
  }
  return context;
}
