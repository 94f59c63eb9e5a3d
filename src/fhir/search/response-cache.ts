/**
 * A cache of search (and history) responses that never answers with anything a fresh search would
 * not answer.
 *
 * Every entry remembers the store's head (ResourceStore.head: newest committed change sequence and
 * reindex epoch) read BEFORE its search ran. Writes commit in change-sequence order under one lock,
 * so two equal heads mean no write committed between the two reads. A request reads the head in a
 * query that starts after the request arrived, and is answered from an entry only when that head
 * equals the entry's: no write committed between the entry's head read and this request's, and the
 * entry's search ran after its head read, so it saw exactly the state this request would see. A
 * write committed after the entry's head read, even one the entry's search already saw, moves the
 * head, and the entry is never served again. No invalidation message is needed: a second process
 * writing to the same database moves the same head.
 *
 * An answer that says which types it read (a search of one type with no chain, `_has` or include
 * reads only that type's rows) outlives writes to other types: when the head has moved, the store
 * says which types the changes in between wrote (a fixed fact once the newer head is read, so it is
 * asked once per pair of heads), and if none is one the answer read, it is as current as if it had
 * been computed at the newer head, and is kept under that head. So Endpoint updates do not
 * recompute Organization name lookups. A reindex (the epoch) ends every answer.
 *
 * Head reads are shared, but never one that may have started before the request arrived
 * (ordered-head-reader.ts): a read starts once the requests that arrived with its first caller are
 * taken in, and a request that finds a head read in flight waits for the next one, which every
 * request arriving meanwhile shares. So at most one head query is in flight and one queued, however
 * many requests arrive.
 *
 * Memory is bounded: entries are evicted least recently used first once their (estimated) size
 * passes `maxBytes` less the share the key memo (request text → key, for the HTTP hit lane) may use.
 *
 * Reads (read.ts) are kept here too, as resources with their ETag and Last-Modified, under the same
 * rule: a read outlives writes to other types, never one to its own. A Bundle entry gets an ETag
 * naming its key and the head it was computed at (revalidation.ts).
 */
import type { GuardedRoute } from '../../security/access-rules';
import { ADMIN_ONLY_TYPES } from '../../security/principal';
import { bundleEtag } from '../revalidation';
import type { StoreHead } from '../../storage/resource-store';
import { OrderedHeadReader } from './ordered-head-reader';

export type CacheStatus = 'hit' | 'miss';

export interface CachedAnswer {
  /** The JSON text: a Bundle's `timestamp` set to now. */
  body: string;
  /** hit: served from an entry; miss: computed for this request (or one arriving at the same head). */
  status: CacheStatus;
  /** The headers the answer was computed with (a read's ETag and Last-Modified). */
  headers?: Readonly<Record<string, string>>;
}

/** A current entry as a caller that writes the bytes itself gets it. */
export interface CachedBytes {
  /** The body's bytes, in order (a Bundle's timestamp, now, between two of them). */
  chunks: Buffer[];
  headers?: Readonly<Record<string, string>>;
}

export interface ResponseCacheStats {
  entries: number;
  /** The entries' bytes; with keyMemoBytes never more than maxBytes. */
  bytes: number;
  maxBytes: number;
  /** The key memo (KeyMemo): entries, bytes and the share of maxBytes it may use. */
  keyMemoEntries: number;
  keyMemoBytes: number;
  keyMemoMaxBytes: number;
  hits: number;
  /** Of the hits, those a caller took as bytes (hit(): the HTTP hit lane). */
  directHits: number;
  misses: number;
  evictions: number;
  headReads: number;
}

interface Entry {
  /** The head it was computed at, or a later one at which nothing it read had changed. */
  head: StoreHead;
  /** The Bundle's UTF-8 bytes before its timestamp value (all of them when it has none). */
  before: Buffer;
  /** The bytes after the timestamp value; undefined when the Bundle has no timestamp. */
  after: Buffer | undefined;
  /** The types the answer read; undefined: any. */
  types: readonly string[] | undefined;
  headers: Readonly<Record<string, string>> | undefined;
  bytes: number;
}

interface Pending {
  head: StoreHead;
  promise: Promise<{ text: string; entry: Entry }>;
}

/**
 * What an answer's computation gives: the Bundle text, and the types it read when it knows; a
 * resource (a read) gives its headers and `timestamp: false` (it has no Bundle timestamp to renew).
 */
export type Computed =
  | string
  | {
      text: string;
      types?: readonly string[];
      headers?: Readonly<Record<string, string>>;
      timestamp?: boolean;
    };

/** The Bundle text of a computation. */
export const computedText = (computed: Computed): string =>
  typeof computed === 'string' ? computed : computed.text;

/**
 * Answers that only admin clients may see (an AuditEvent anywhere in them: a read, a search, a
 * history page, an include) are never kept, so neither the cache nor the hit lane, which serves only
 * what is kept, can hand one to anybody else. One scan of an answer already computed.
 */
const ADMIN_ONLY_MARKER = new RegExp(`"resourceType"\\s*:\\s*"(?:${[...ADMIN_ONLY_TYPES].join('|')})"`);
const holdsAdminOnly = (text: string): boolean => ADMIN_ONLY_MARKER.test(text);

const sameHead = (a: StoreHead, b: StoreHead): boolean => a.seq === b.seq && a.epoch === b.epoch;
const newerHead = (a: StoreHead, b: StoreHead): boolean => a.seq > b.seq || a.epoch > b.epoch;

/** The key is a UTF-16 string (two bytes a character at most), plus the map's own bookkeeping. */
const ENTRY_OVERHEAD = 200;

const STAMP = '"timestamp":"';
const INSTANT_LENGTH = '2000-01-01T00:00:00.000Z'.length;

/** Where a Bundle's `timestamp` value starts (bundleJson writes it in the first few fields). */
function stampOffset(text: string): number {
  const at = text.indexOf(STAMP);
  if (at < 0 || at > 200) return -1;
  const start = at + STAMP.length;
  return text.charAt(start + INSTANT_LENGTH) === '"' ? start : -1;
}

/**
 * Kept as bytes, split around the (ASCII) timestamp: a hit writes the stored bytes as they are,
 * with no string to build, encode and collect per request.
 */
function makeEntry(key: string, head: StoreHead, computed: Computed): { text: string; entry: Entry } {
  const text = computedText(computed);
  const types = typeof computed === 'string' ? undefined : computed.types;
  const own = typeof computed === 'string' ? undefined : computed.headers;
  // An answer with no ETag of its own (a Bundle) is tagged with its key and this head: the tag stays
  // while the entry does (through writes to types it did not read), as its bytes do.
  const headers = own?.etag === undefined ? { ...own, etag: bundleEtag(key, head) } : own;
  const bytes = Buffer.from(text, 'utf8');
  let size = bytes.length + 2 * key.length + ENTRY_OVERHEAD;
  for (const [name, value] of Object.entries(headers ?? {})) size += 2 * (name.length + value.length);
  const stampAt = typeof computed !== 'string' && computed.timestamp === false ? -1 : stampOffset(text);
  const entry: Entry = { head, before: bytes, after: undefined, types, headers, bytes: size };
  if (stampAt >= 0) {
    const at = Buffer.byteLength(text.slice(0, stampAt)); // stampAt itself while all before it is ASCII
    entry.before = bytes.subarray(0, at);
    entry.after = bytes.subarray(at + INSTANT_LENGTH);
  }
  return { text, entry };
}

/** The types a store's changes in (after, upto] wrote: ResourceStore.typesChanged. */
export type TypesChanged = (after: number, upto: number) => Promise<Set<string>>;

const CHANGE_MEMO_SIZE = 1000;

/** The share of SEARCH_CACHE_MB the directory gives the key memo (createFhirContext). */
export const KEY_MEMO_SHARE = 1 / 16;
/** Request texts longer than this are not remembered: long distinct URLs would only churn the memo. */
export const KEY_MEMO_MAX_TEXT = 2048;
/**
 * What the memo keeps for a request text: the cache key, and what the caller decided with it and
 * wants back on every hit without deciding again (the hit lane: the route's template as a label for
 * its metrics, and what the access guard needs to know of the route: its access marking, interaction
 * and type). Labels, markings and interactions are a few shared values and types are short names, so
 * only the object is counted, not their characters.
 */
export interface MemoKey extends GuardedRoute {
  key: string;
  label: string;
}

/** Two bytes a character, plus the map's and the MemoKey's own bookkeeping. */
const memoSize = (text: string, found: MemoKey | null): number =>
  2 * (text.length + (found?.key.length ?? 0) + (found?.type?.length ?? 0)) + 140;

/**
 * Request text → cache key and label (null: not a request the cache answers), for a caller that
 * answers hits before it parses a request (the HTTP hit lane) and sees the same URLs again and
 * again. Bounded by bytes, a share of the cache's own budget; a text over KEY_MEMO_MAX_TEXT
 * characters is not kept. Oldest out first.
 */
export class KeyMemo {
  private readonly keys = new Map<string, MemoKey | null>();
  private used = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get entries(): number {
    return this.keys.size;
  }

  /** The key remembered for `text`, else `compute`'s (remembered when the text is short enough). */
  key(text: string, compute: () => MemoKey | undefined): MemoKey | undefined {
    const known = this.keys.get(text);
    if (known !== undefined) return known ?? undefined;
    const found = compute();
    if (text.length <= KEY_MEMO_MAX_TEXT) this.remember(text, found ?? null);
    return found;
  }

  private remember(text: string, key: MemoKey | null): void {
    const size = memoSize(text, key);
    if (size > this.maxBytes) return;
    this.keys.set(text, key);
    this.used += size;
    for (const [oldest, oldKey] of this.keys) {
      if (this.used <= this.maxBytes) break;
      this.keys.delete(oldest);
      this.used -= memoSize(oldest, oldKey);
    }
  }
}

export interface ResponseCacheOptions {
  /** Reads the store's committed head (ResourceStore.head). */
  readHead: () => Promise<StoreHead>;
  /** SEARCH_CACHE_MB in bytes: entries and key memo together. */
  maxBytes: number;
  /** The clock stamped into each served Bundle's meta.lastUpdated (tests fix it). */
  now?: () => string;
  /** Lets an entry outlive changes to types it did not read (none: any change ends every entry). */
  typesChanged?: TypesChanged;
  /** How much of maxBytes the key memo may use (none: it remembers nothing). */
  keyMemoBytes?: number;
}

export class ResponseCache {
  readonly maxBytes: number;
  private readonly now: () => string;
  private readonly typesChanged: TypesChanged | undefined;
  /** Request text → key for the HTTP hit lane; its bytes are part of maxBytes. */
  readonly keyMemo: KeyMemo;
  /** What the entries may use: maxBytes less the key memo's share. */
  private readonly entryBytes: number;
  private readonly entries = new Map<string, Entry>();
  /** typesChanged answers by `after:upto`; each is fixed once asked (see the header). */
  private readonly changes = new Map<string, Promise<Set<string>>>();
  private readonly pending = new Map<string, Pending>();
  private readonly heads: OrderedHeadReader;
  private bytes = 0;
  private hits = 0;
  private directHits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(options: ResponseCacheOptions) {
    this.maxBytes = options.maxBytes;
    this.now = options.now ?? (() => new Date().toISOString());
    this.typesChanged = options.typesChanged;
    this.heads = new OrderedHeadReader(options.readHead);
    this.keyMemo = new KeyMemo(Math.min(options.keyMemoBytes ?? 0, options.maxBytes));
    this.entryBytes = options.maxBytes - this.keyMemo.maxBytes;
  }

  /**
   * The entry for `key` if it answers at `head` (made at it, or nothing it read changed since it
   * was made), counted as a hit and made the most recently used; else undefined.
   */
  private async currentEntry(key: string, head: StoreHead): Promise<Entry | undefined> {
    const entry = this.entries.get(key);
    if (!entry || entry.head.epoch !== head.epoch) return undefined;
    if (entry.head.seq !== head.seq) {
      const types = entry.types;
      const typesChanged = this.typesChanged;
      if (!types || !typesChanged || entry.head.seq > head.seq) return undefined;
      if (!(await this.unchangedSince(typesChanged, entry.head, head, types))) return undefined;
      if (entry.head.seq < head.seq) entry.head = head; // as good as made at this head
    }
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits += 1;
    return entry;
  }

  /** Whether none of `types` was written between two heads (asked once per pair of heads). */
  private async unchangedSince(
    typesChanged: TypesChanged,
    from: StoreHead,
    to: StoreHead,
    types: readonly string[],
  ): Promise<boolean> {
    const key = `${from.seq}:${to.seq}`;
    let changed = this.changes.get(key);
    if (!changed) {
      if (this.changes.size >= CHANGE_MEMO_SIZE) this.changes.clear();
      changed = typesChanged(from.seq, to.seq);
      this.changes.set(key, changed);
    }
    try {
      const written = await changed;
      return !types.some((type) => written.has(type));
    } catch {
      this.changes.delete(key);
      return false; // not known: computed again, as after any write
    }
  }

  /**
   * The answer for `key`: from an entry made at the current head, else from `compute` (which must
   * start its reads after it is called; its result is stored under the head read before it ran).
   */
  async answer(key: string, compute: () => Promise<Computed>): Promise<CachedAnswer> {
    const head = await this.heads.read();
    const entry = await this.currentEntry(key, head);
    if (entry) return this.answerFrom(entry, 'hit');
    this.misses += 1;
    const shared = this.pending.get(key);
    if (shared && sameHead(shared.head, head)) {
      try {
        return this.answerFrom((await shared.promise).entry, 'miss');
      } catch {
        // The request that started it failed, or was cancelled because its client left (its reads
        // carry that client's signal): this caller still wants the answer, so it computes its own.
      }
    }

    const promise = compute().then((computed) => makeEntry(key, head, computed));
    const mine: Pending = { head, promise };
    this.pending.set(key, mine);
    try {
      const made = await promise;
      if (!holdsAdminOnly(made.text)) this.store(key, made.entry);
      return made.entry.headers
        ? { body: made.text, status: 'miss', headers: made.entry.headers }
        : { body: made.text, status: 'miss' };
    } finally {
      if (this.pending.get(key) === mine) this.pending.delete(key);
    }
  }

  /** Whether an entry exists for `key`, at whatever head: a cheap test before reading the head. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * The entry for `key` if it is current (read at a head taken after the call), else undefined and
   * nothing is computed: for a caller that answers hits itself and hands everything else on.
   */
  async hit(key: string): Promise<CachedBytes | undefined> {
    const entry = await this.currentEntry(key, await this.heads.read());
    if (!entry) return undefined;
    this.directHits += 1;
    const chunks = entry.after
      ? [entry.before, Buffer.from(this.now(), 'latin1'), entry.after]
      : [entry.before];
    return entry.headers ? { chunks, headers: entry.headers } : { chunks };
  }

  stats(): ResponseCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
      keyMemoEntries: this.keyMemo.entries,
      keyMemoBytes: this.keyMemo.bytes,
      keyMemoMaxBytes: this.keyMemo.maxBytes,
      hits: this.hits,
      directHits: this.directHits,
      misses: this.misses,
      evictions: this.evictions,
      headReads: this.heads.reads,
    };
  }

  private answerFrom(entry: Entry, status: CacheStatus): CachedAnswer {
    const text = entry.before.toString('utf8');
    const body = entry.after ? text + this.now() + entry.after.toString('utf8') : text;
    return entry.headers ? { body, status, headers: entry.headers } : { body, status };
  }

  private store(key: string, entry: Entry): void {
    if (entry.bytes > this.entryBytes) return;
    const old = this.entries.get(key);
    if (old) {
      // Requests at different heads may finish out of order; keep the newer answer.
      if (newerHead(old.head, entry.head)) return;
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    for (const [oldest, victim] of this.entries) {
      if (this.bytes <= this.entryBytes) break;
      this.entries.delete(oldest);
      this.bytes -= victim.bytes;
      this.evictions += 1;
    }
  }
}

/**
 * The cache key's query part: parameters in name order, the values of one name kept in their order
 * (it matters for `_sort` and the order of `_include`s). The search runs on this canonical query, so
 * its response (self and next links included) is the same for every spelling that shares the key.
 */
export function canonicalQuery(query: URLSearchParams): URLSearchParams {
  const entries = [...query];
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new URLSearchParams(entries);
}
