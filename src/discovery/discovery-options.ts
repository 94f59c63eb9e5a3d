/**
 * How the crawler fetches, from the configuration (DISCOVERY_ALLOW_PRIVATE, DISCOVERY_ALLOW_HTTP)
 * and the limits issue 13 sets: 5 s to connect, 35 s for a whole answer (Lantern's client timeout),
 * 5 MB per answer (Epic's and Oracle Health's statements are 40-400 KB), and a User-Agent naming
 * the directory and where it runs, so an endpoint's operator can tell who is asking.
 */
import type { FetchOptions } from './safe-fetch';

export const CONNECT_TIMEOUT_MS = 5_000;
export const TOTAL_TIMEOUT_MS = 35_000;
export const MAX_ANSWER_BYTES = 5 * 1024 * 1024;

export interface DiscoverySettings {
  allowPrivate: boolean;
  allowHttp: boolean;
  /** The directory's public FHIR base, named in the User-Agent. */
  baseUrl: string;
  /** The directory's software version. */
  version: string;
}

export function fetchOptions(settings: DiscoverySettings): FetchOptions {
  return {
    allowPrivate: settings.allowPrivate,
    allowHttp: settings.allowHttp,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    totalTimeoutMs: TOTAL_TIMEOUT_MS,
    maxBytes: MAX_ANSWER_BYTES,
    userAgent: `fhir-directory/${settings.version} (capability discovery; +${settings.baseUrl})`,
  };
}
