/**
 * The memory bound of one soak server: what every in-process cache of the guard can hold at most,
 * from its configured cap and the size of one entry, on top of the heap the server had at the start.
 *
 * Every cache of src/ was found by reading it (BoundedCache, Map, maxEntries, cacheSize); each row
 * names where its cap is set. `entryBytes` is the retained heap per entry for the entries this
 * soak's traffic creates, measured on Node 20.20 (x64) by filling the real cache through
 * `guard.check` (or the store's own methods) with distinct values, forcing a GC before and after,
 * and dividing the growth by the entries held: Approov tokens of 224 characters, ES256 JWTs of 269,
 * Web Bot Auth signatures covering four components (Signature-Input of ~200 characters), SHA-256
 * nonce and rate-limit keys. `worstBytes` is the largest entry a caller could make the cache hold
 * within the guard's other limits (a row's note says how), reported, not asserted: this traffic does
 * not send such entries.
 *
 * bound(heapUsed after GC) = heapUsed at the start + HEADROOM × Σ cap × entryBytes + SLACK
 * bound(external at end)   = external at the start + EXTERNAL_SLACK
 * guide(rss)               = rss at the start + 2 × (heap bound − heapUsed at the start) + RSS_SLACK
 *
 * HEADROOM covers Map backing stores between rehashes and the spread of the measurements; SLACK the
 * requests in flight (connections × a few KiB), the frameworks' own buffers and V8's variance after
 * a GC. The two bounds fail the run; the RSS figure is a guide, reported and not enforced: how much
 * heap V8 keeps committed beyond the live heap is V8's policy (its growing factor reaches 4× the live
 * size under a high allocation rate — Express's heapTotal reached 2.6× its heapUsed in a 516-s run),
 * not something the guard's caps decide. Native memory the guard could hold (Buffers) is `external`,
 * which is bounded.
 */
export interface CacheBound {
  readonly cache: string;
  /** Where the cap is set (file:line at the time of writing, and the option). */
  readonly where: string;
  readonly cap: number;
  readonly entryBytes: number;
  readonly worstBytes: number;
  readonly note: string;
}

export const HEADROOM = 1.5;
export const SLACK_BYTES = 24 * 2 ** 20;
export const RSS_SLACK_BYTES = 64 * 2 ** 20;
export const EXTERNAL_SLACK_BYTES = 16 * 2 ** 20;

/** The caches of one soak server's guard (two token verifiers, one signature verifier, the store). */
export function cacheBounds(store: 'memory' | 'redis'): CacheBound[] {
  const rows: CacheBound[] = [
    {
      cache: 'verified Approov tokens',
      where: 'src/attestation/token-verifier.ts TokenVerifier #cache (cache.tokens, default 10000 in src/options.ts)',
      cap: 10_000,
      entryBytes: 360,
      worstBytes: 17_000,
      note: 'only tokens whose signature verified; worst: an 8 KiB token (maxTokenBytes) from the issuer',
    },
    {
      cache: 'verified JWTs (remote JWKS)',
      where: 'src/attestation/token-verifier.ts TokenVerifier #cache (cache.tokens)',
      cap: 10_000,
      entryBytes: 390,
      worstBytes: 17_000,
      note: 'as above',
    },
    {
      cache: 'JWS header memo (2 verifiers × 64)',
      where: 'src/attestation/jws.ts (HEADER_CACHE_SIZE, cleared when full)',
      cap: 128,
      entryBytes: 400,
      worstBytes: 17_000,
      note: 'filled before any signature check: any caller, header segment up to maxTokenBytes',
    },
    {
      cache: 'parsed Signature/Signature-Input',
      where: 'src/signatures/verifier.ts SignatureVerifier #parsed (min(signatures.cacheSize, 2048)), set only for a signature seen again (a verified-cache hit)',
      cap: 2048,
      entryBytes: 2_750,
      worstBytes: 162_000,
      note: 'a caller with a valid signature, sent twice: Signature ≤ 2048 chars, Signature-Input ≤ 512 chars (MAX_CACHED_INPUT); the worst figure is an 8 KiB Signature-Input with 16 labels × 32 components, which parses to ~160 KB but is not kept',
    },
    {
      cache: 'covered-component lists',
      where: 'src/signatures/parse.ts (COMPONENT_MEMO_ENTRIES 256, inner lists ≤ 512 chars, cleared when full)',
      cap: 256,
      entryBytes: 2_000,
      worstBytes: 11_500,
      note: 'any caller, no key needed (filled by the parser); worst: 32 components in a 512-character list',
    },
    {
      cache: 'verified signatures',
      where: 'src/signatures/verifier.ts SignatureVerifier #verified (signatures.cacheSize = cache.tokens, 10000)',
      cap: 10_000,
      entryBytes: 360,
      worstBytes: 16_500,
      note: 'holds the signature base: covered header values up to the HTTP server\'s 16 KiB header limit',
    },
    {
      cache: 'key directories (and remembered failures)',
      where: 'src/signatures/directory.ts #cache (directory.maxOrigins, default 1000)',
      cap: 1000,
      entryBytes: 2_000,
      worstBytes: 5_100,
      note: 'this traffic: one directory with one key, the rest failures; worst: 16 keys (maxKeys) per directory',
    },
    {
      cache: 'directory fetches in flight',
      where: 'src/signatures/directory.ts #pending (at most maxConcurrentFetches, default 32)',
      cap: 32,
      entryBytes: 16_000,
      worstBytes: 16_000 + 65_536,
      note: 'a TLS socket and its request; worst: a body up to maxBytes being read',
    },
    {
      cache: 'Signature-Agent dictionary memo',
      where: 'src/signatures/structured-fields.ts recentDictionaries (MEMO_ENTRIES 256, texts ≤ 512 chars, cleared when full)',
      cap: 256,
      entryBytes: 1_500,
      worstBytes: 2_500,
      note: 'with the covered members serialized on their own, each at most the text',
    },
    {
      cache: 'Signature-Agent origin memo',
      where: 'src/signatures/directory.ts (RECENT_ORIGINS 256, values ≤ 2048 chars, cleared when full)',
      cap: 256,
      entryBytes: 200,
      worstBytes: 4_300,
      note: 'an agent URL and its origin; worst: a 2048-character value',
    },
    {
      cache: 'remote JWKS keys',
      where: 'src/keys/remote-key-set.ts (jwks.maxKeys, default 32)',
      cap: 32,
      entryBytes: 2_000,
      worstBytes: 2_000,
      note: '',
    },
  ];
  if (store === 'memory') {
    rows.push(
      {
        cache: 'memory store: nonces',
        where: 'src/stores/memory.ts MemoryStore (maxEntries, default 100000)',
        cap: 100_000,
        entryBytes: 150,
        worstBytes: 150,
        note: 'fixed-size key (hash of keyid and nonce); full of live nonces, new ones are refused (503)',
      },
      {
        cache: 'memory store: rate-limit keys',
        where: 'src/stores/memory.ts MemoryStore (maxRateLimitKeys, default 100000)',
        cap: 100_000,
        entryBytes: 300,
        worstBytes: 300,
        note: 'fixed-size key (hash); least recently used evicted',
      },
    );
  } else {
    rows.push({
      cache: 'RedisStore stand-in: rate-limit keys',
      where: 'bench/soak/server.ts (standIn: new MemoryStore(), maxRateLimitKeys 100000)',
      cap: 100_000,
      entryBytes: 300,
      worstBytes: 300,
      note: 'only while Redis fails; nonces and limits otherwise live in Redis',
    });
  }
  return rows;
}

export interface MemoryBound {
  readonly rows: readonly CacheBound[];
  /** Σ cap × entryBytes. */
  readonly cachesBytes: number;
  /** Σ cap × worstBytes. */
  readonly worstBytes: number;
  readonly heapBytes: number;
  readonly rssBytes: number;
}

export function memoryBound(store: 'memory' | 'redis', start: { heapUsed: number; rss: number }): MemoryBound {
  const rows = cacheBounds(store);
  const cachesBytes = rows.reduce((sum, r) => sum + r.cap * r.entryBytes, 0);
  const worstBytes = rows.reduce((sum, r) => sum + r.cap * r.worstBytes, 0);
  const growth = HEADROOM * cachesBytes + SLACK_BYTES;
  return { rows, cachesBytes, worstBytes, heapBytes: start.heapUsed + growth, rssBytes: start.rss + 2 * growth + RSS_SLACK_BYTES };
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
