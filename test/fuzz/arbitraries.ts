import fc from 'fast-check';

/**
 * Input generators shared by the fuzz tests. Two kinds: "anything" strings (every code unit, lone
 * surrogates included, since a header value from a hand-built request can hold them), and strings
 * shaped like the grammar they are fed to (structured fields, JWTs, URLs), so that runs get past the
 * first syntax check and reach the code behind it. Grammar-shaped strings are then sometimes
 * damaged by one edit, which is where parsers tend to break.
 */

const PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));

/** Visible ASCII, SP and the separators that structured fields, URLs and JWTs care about. */
export const printable = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...PRINTABLE), maxLength });

/** Any UTF-16 code units, including controls, CR/LF, non-ASCII and lone surrogates. */
export const anyString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength }),
  );

/** Runs of the characters that separate things: the inputs that make hand-written parsers loop or split wrong. */
export const separators = (maxLength = 40): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(' ', '\t', ',', ';', '=', '"', ':', '(', ')', '\\', '\r', '\n', '.', '/', '?', '#', '%', '@', '*', 'a', '1'), maxLength });

/** One edit of a string: a character replaced, inserted or removed at a random place. */
export function damaged(source: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(source, fc.nat(), fc.constantFrom('replace', 'insert', 'delete'), fc.oneof(fc.constantFrom(...PRINTABLE), anyString(1)))
    .map(([text, at, edit, c]) => {
      const i = text.length === 0 ? 0 : at % (text.length + (edit === 'insert' ? 1 : 0));
      if (edit === 'insert') return text.slice(0, i) + c + text.slice(i);
      if (edit === 'delete') return text.slice(0, i) + text.slice(i + 1);
      return text.slice(0, i) + c + text.slice(i + 1);
    });
}

// ---------------------------------------------------------------------------------------------
// Structured fields (RFC 8941 / RFC 9651)
// ---------------------------------------------------------------------------------------------

export const sfKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('sig1', 'sig2', 'a', '*', 'sha-256', 'sha-512', 'md5', 'keyid', 'created', 'expires', 'tag', 'alg', 'nonce', 'key', 'sf', 'bs', 'req', 'tr', 'name', 'type'),
  fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,6}$/),
);

const sfToken = fc.stringMatching(/^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]{0,10}$/);

const sfString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('"@authority"', '"@method"', '"@path"', '"@query"', '"@target-uri"', '"@query-param"', '"@signature-params"', '"signature-agent"', '"content-digest"', '"web-bot-auth"', '"https://agent.example"', '"ed25519"', '""'),
  printable(20).map((s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`),
);

export const sfBareItem: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }).map(String),
  fc.integer({ min: 0, max: 2_000_000_000 }).map(String),
  fc.tuple(fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }), fc.integer({ min: 0, max: 999 })).map(([i, f]) => `${i}.${f}`),
  sfString,
  sfToken,
  fc.uint8Array({ maxLength: 70 }).map((b) => `:${Buffer.from(b).toString('base64')}:`),
  fc.constantFrom('?0', '?1'),
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }).map((n) => `@${n}`),
  printable(10).map((s) => `%"${encodeURIComponent(s).toLowerCase()}"`),
);

const sfParams: fc.Arbitrary<string> = fc
  .array(fc.tuple(sfKey, fc.option(sfBareItem, { nil: undefined })), { maxLength: 4 })
  .map((ps) => ps.map(([k, v]) => `;${k}${v === undefined ? '' : `=${v}`}`).join(''));

const sfItem: fc.Arbitrary<string> = fc.tuple(sfBareItem, sfParams).map(([v, p]) => v + p);

const sfInnerList: fc.Arbitrary<string> = fc
  .tuple(fc.array(sfItem, { maxLength: 5 }), sfParams)
  .map(([items, p]) => `(${items.join(' ')})${p}`);

const sfMember: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(sfKey, sfParams).map(([k, p]) => k + p),
  fc.tuple(sfKey, sfItem).map(([k, v]) => `${k}=${v}`),
  fc.tuple(sfKey, sfInnerList).map(([k, v]) => `${k}=${v}`),
);

const listSeparator = fc.constantFrom(', ', ',', ' ,  ', ',\t', ', ');

/** A Dictionary, List or Item as text: mostly valid, sometimes with odd but legal spacing. */
export const sfText: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.array(sfMember, { minLength: 1, maxLength: 5 }), listSeparator).map(([m, sep]) => m.join(sep)),
  fc.tuple(fc.array(fc.oneof(sfItem, sfInnerList), { minLength: 1, maxLength: 5 }), listSeparator).map(([m, sep]) => m.join(sep)),
  sfItem,
  sfInnerList,
);

/** Structured-field-shaped text, sometimes with one edit, sometimes padded with spaces. */
export const sfLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: sfText },
  { weight: 3, arbitrary: damaged(sfText) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('', ' ', '  ', '\t'), sfText, fc.constantFrom('', ' ', '\t ')).map(([a, t, b]) => a + t + b) },
);

// ---------------------------------------------------------------------------------------------
// JWTs
// ---------------------------------------------------------------------------------------------

export const b64u = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value) ?? 'null').toString('base64url');

/** Odd JSON values for claims and headers: huge and tiny numbers, wrong types, nesting. */
export const oddJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, 1_800_000_060, 1_799_999_999, 9_999_999_999_999, '1800000060', '', null, true, false, [], {}),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A compact-JWS-shaped string with arbitrary JSON in its header and payload and arbitrary signature bytes. */
export const jwtLike: fc.Arbitrary<string> = fc
  .tuple(
    fc.record(
      {
        alg: fc.oneof(fc.constantFrom('HS256', 'ES256', 'RS256', 'EdDSA', 'none', 'hs256', 'HS512'), oddJson),
        typ: fc.constantFrom('JWT', 'at+jwt'),
        kid: fc.oneof(fc.string({ maxLength: 300 }), oddJson),
        crit: fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
        jku: fc.constant('https://evil.example/jwks'),
        b64: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    fc.oneof(
      fc.record({ exp: oddJson, nbf: oddJson, iat: oddJson, iss: oddJson, aud: oddJson, sub: oddJson, pay: oddJson, ipk: oddJson, did: oddJson }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 4 }),
    ),
    fc.uint8Array({ maxLength: 140 }),
    fc.constantFrom('base64url', 'base64', 'raw'),
  )
  .map(([header, payload, signature, encoding]) => {
    const sig = encoding === 'raw' ? Buffer.from(signature).toString('latin1') : Buffer.from(signature).toString(encoding);
    return `${b64u(header)}.${b64u(payload)}.${sig}`;
  });

/** A token-shaped or arbitrary header value for the attestation headers. */
export const tokenLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: jwtLike },
  { weight: 2, arbitrary: damaged(jwtLike) },
  { weight: 1, arbitrary: jwtLike.map((t) => `Bearer ${t}`) },
  { weight: 1, arbitrary: separators(30) },
  { weight: 1, arbitrary: anyString(60) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('.', 'a', '-', '_', '=', '+', '/'), maxLength: 30 }) },
);

// ---------------------------------------------------------------------------------------------
// URLs, methods, IPs
// ---------------------------------------------------------------------------------------------

const hosts = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('api.example.com', 'API.Example.COM', 'api.example.com:443', 'api.example.com:8443', 'api.example.com:', '[::1]', '[::1]:8080', '127.0.0.1', 'a', 'xn--bcher-kva.example') },
  { weight: 1, arbitrary: fc.constantFrom('[fe80::1%25eth0]', 'user@evil', 'evil#', '', 'a:99999', '[::1', 'a b') },
  fc.string({ unit: fc.constantFrom('a', 'B', '.', '-', ':', '[', ']', '%', '@', '1', '_', '~', '!', '\\', ' '), maxLength: 20 }),
);

const pathChars = fc.constantFrom('a', 'B', '/', '.', '%', '2', 'e', 'E', 'f', '4', '1', '~', '-', '_', '?', '&', '=', '+', ';', ':', '@', '!', '*', ' ', '\\', 'é', '\u0000');

/** A raw path (with query): slashes, dot segments, percent-escapes good and bad, odd characters. */
export const rawPath: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('/', '/v1/items', '/v1/items/42?q=1&q=2', '/x#frag', '/feeds/1', '/upload', '/monitor/x', '/admin/x', '/health', '/%2e%2e/admin', '/a/../../b', '/./', '/..', '//x', '?x', ''),
  fc.string({ unit: pathChars, maxLength: 40 }).map((p) => (p.startsWith('/') || p.startsWith('?') ? p : `/${p}`)),
  fc.array(fc.constantFrom('a', '.', '..', '%2e', '%2E%2e', '%41', '%', '%zz', '', 'feeds', 'v1', '**'), { maxLength: 8 }).map((s) => `/${s.join('/')}`),
);

/** An absolute URL as adapters build them, or something that is not one. */
export const urlLike: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(fc.oneof({ weight: 12, arbitrary: fc.constantFrom('https://', 'http://', 'HTTPS://', 'hTtP://') }, fc.constantFrom('ftp://', 'https:/', 'https:', '')), hosts, rawPath)
      .map(([s, h, p]) => s + h + p),
  },
  { weight: 1, arbitrary: anyString(60) },
  { weight: 2, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: false }) },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
);

export const methodLike: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'get', 'Post', 'M-SEARCH', 'PROPFIND', 'CONNECT', 'TRACE') },
  { weight: 1, arbitrary: fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,40}$/) },
  { weight: 1, arbitrary: anyString(10) },
);

export const ipLike: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((ip) => `::ffff:${ip}`),
  fc.constantFrom('203.0.113.9', '198.51.100.7', '2001:db8:bad::1', '::', '::1', 'fe80::1%eth0', '[::1]', '1.2.3', '01.2.3.4', '256.1.1.1', 'localhost', ''),
  anyString(20),
);
