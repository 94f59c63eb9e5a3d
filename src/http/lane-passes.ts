/**
 * The access guard's "yes" to a bearer token on a cached key, remembered so that the hit lane
 * answers the token's next request for the key without asking the guard again. Asking costs about
 * 20 µs (the Authorization header's pattern, the verified-token lookup, the token's scopes narrowed
 * to the client's and parsed, the read rule), which on small cached answers was a third of the
 * request: bench/auth.js measured an NPI lookup (1.8 KB answers) with a token at 0.69–0.72 of the
 * same public search before this memo (README "Authorization costs").
 *
 * A pass stands only while the Authenticator says the decision does (`decisionStands`): the clients'
 * revision it was made at is still the one read (disabling a client or narrowing its scopes moves
 * it, and every process re-reads it within seconds), the clients were read within `staleMs`, and
 * the token has not expired. Anything else, and every refusal, goes through the guard again (the
 * full path answers and reports refusals). The memo is bounded by entries and by bytes; the oldest
 * tokens go first.
 */
import type { Authenticator } from '../security/authenticator';

/** One token's passes: the keys it was let through to, and under what the decision holds. */
interface TokenPasses {
  revision: number;
  expiresAt: number;
  keys: Set<object>;
  bytes: number;
}

export interface LanePassesLimits {
  /** Token × key pairs remembered, all tokens together. */
  maxEntries: number;
  /** Bytes: two a character of each Authorization header, plus bookkeeping per token and per key. */
  maxBytes: number;
}

/**
 * 100,000 pairs, 4 MiB: a few thousand clients' tokens each reading a few dozen distinct cached
 * searches within a token's 5 minutes, at well under 1 % of the default SEARCH_CACHE_MB.
 */
export const LANE_PASSES_LIMITS: LanePassesLimits = { maxEntries: 100_000, maxBytes: 4 * 1024 * 1024 };

const TOKEN_OVERHEAD = 200;
const KEY_OVERHEAD = 40;

export class LanePasses {
  private readonly tokens = new Map<string, TokenPasses>();
  private pairs = 0;
  private used = 0;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly limits: LanePassesLimits = LANE_PASSES_LIMITS,
  ) {}

  get entries(): number {
    return this.pairs;
  }

  get bytes(): number {
    return this.used;
  }

  /** The clients' revision now: read before asking the guard, given back to `remember`. */
  revision(): number {
    return this.authenticator.clientsRevision;
  }

  /** Whether the guard let `authorization` through to `key` and that decision still stands. */
  passes(authorization: string, key: object): boolean {
    const known = this.tokens.get(authorization);
    if (known === undefined) return false;
    if (!this.authenticator.decisionStands(known.revision, known.expiresAt)) {
      this.forget(authorization, known);
      return false;
    }
    return known.keys.has(key);
  }

  /**
   * Remembers that the guard let `authorization` through to `key`, deciding from the clients at
   * `revision` (read before the guard ran: a refresh during its check only makes the pass stand less
   * long) for a token that expires at `expiresAt`.
   */
  remember(authorization: string, key: object, revision: number, expiresAt: number): void {
    let known = this.tokens.get(authorization);
    if (known !== undefined && (known.revision !== revision || known.expiresAt !== expiresAt)) {
      this.forget(authorization, known);
      known = undefined;
    }
    if (known === undefined) {
      const bytes = 2 * authorization.length + TOKEN_OVERHEAD;
      if (bytes + KEY_OVERHEAD > this.limits.maxBytes) return;
      known = { revision, expiresAt, keys: new Set(), bytes };
      this.tokens.set(authorization, known);
      this.used += bytes;
    }
    if (known.keys.has(key)) return;
    known.keys.add(key);
    known.bytes += KEY_OVERHEAD;
    this.used += KEY_OVERHEAD;
    this.pairs += 1;
    this.shrink(authorization);
  }

  private forget(authorization: string, known: TokenPasses): void {
    this.tokens.delete(authorization);
    this.used -= known.bytes;
    this.pairs -= known.keys.size;
  }

  /** Drops the oldest tokens until within the limits; a token's own keys, oldest first, when it is the last. */
  private shrink(newest: string): void {
    for (const [authorization, known] of this.tokens) {
      if (this.pairs <= this.limits.maxEntries && this.used <= this.limits.maxBytes) return;
      if (authorization === newest) break;
      this.forget(authorization, known);
    }
    const known = this.tokens.get(newest);
    if (known === undefined) return;
    for (const key of known.keys) {
      if (this.pairs <= this.limits.maxEntries && this.used <= this.limits.maxBytes) return;
      known.keys.delete(key);
      known.bytes -= KEY_OVERHEAD;
      this.used -= KEY_OVERHEAD;
      this.pairs -= 1;
    }
  }
}
