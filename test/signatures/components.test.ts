/**
 * Component values (RFC 9421 §2.1, §2.2) and the signature base built from them (§2.5). Expected
 * values are the RFC's own examples where it has them, written out literally.
 */
import { describe, expect, it } from 'vitest';
import { covers, signatureBase } from '../../src/signatures/base.js';
import { componentValue } from '../../src/signatures/components.js';
import { componentId, parseComponentId } from '../../src/signatures/parse.js';
import type { ComponentId, SignedMessage } from '../../src/signatures/types.js';

type Fields = Record<string, readonly string[]>;

function request(url: string | undefined, fields: Fields = {}, method = 'POST'): SignedMessage {
  return { method, url, fieldLines: (name) => fields[name] };
}

function response(status: number, fields: Fields = {}, req?: SignedMessage): SignedMessage {
  return { status, request: req, fieldLines: (name) => fields[name] };
}

/** A component identifier from its serialized form, failing the test if it does not parse. */
function id(text: string): ComponentId {
  const component = parseComponentId(text);
  if (component === undefined) throw new Error(`bad component id in test: ${text}`);
  return component;
}

/** A ComponentId the parser would refuse, to check that componentValue refuses it too. */
function rawId(name: string, params: Record<string, string | boolean>): ComponentId {
  return { name, params: new Map(Object.entries(params)), id: `"${name}"` };
}

const value = (message: SignedMessage, component: string): string => componentValue(message, id(component));

describe('derived components on requests (RFC 9421 §2.2)', () => {
  const table: [url: string, component: string, expected: string][] = [
    // §2.2.2–§2.2.7 on the RFC's own request
    ['https://www.example.com/path?param=value', '@target-uri', 'https://www.example.com/path?param=value'],
    ['https://www.example.com/path?param=value', '@authority', 'www.example.com'],
    ['https://www.example.com/path?param=value', '@scheme', 'https'],
    ['https://www.example.com/path?param=value', '@request-target', '/path?param=value'],
    ['https://www.example.com/path?param=value', '@path', '/path'],
    ['https://www.example.com/path?param=value', '@query', '?param=value'],
    ['https://www.example.com/path?queryString', '@query', '?queryString'],
    // empty query → "?", empty path → "/"
    ['https://www.example.com/path?', '@query', '?'],
    ['https://www.example.com/path', '@query', '?'],
    ['https://www.example.com/path?', '@request-target', '/path?'],
    ['http://example.com', '@path', '/'],
    ['http://example.com', '@request-target', '/'],
    ['http://example.com?a=1', '@path', '/'],
    ['http://example.com?a=1', '@query', '?a=1'],
    ['http://example.com?a=1', '@request-target', '/?a=1'],
    // default port dropped, others kept; an empty port is no port
    ['http://example.com:80/x', '@authority', 'example.com'],
    ['https://example.com:443/x', '@authority', 'example.com'],
    ['https://example.com:80/x', '@authority', 'example.com:80'],
    ['http://example.com:8080/x', '@authority', 'example.com:8080'],
    ['https://example.com:/x', '@authority', 'example.com'],
    // IPv6 literals keep their brackets; the host is lower-cased, the port still handled
    ['https://[2001:DB8::1]:8443/x', '@authority', '[2001:db8::1]:8443'],
    ['https://[::1]:443/x', '@authority', '[::1]'],
    ['http://[::1]/x', '@authority', '[::1]'],
    ['http://127.0.0.1:80/', '@authority', '127.0.0.1'],
    // upper case: host and scheme lower-cased; path and query are case-sensitive and kept
    ['HTTPS://WWW.Example.COM/Foo?Q=1', '@authority', 'www.example.com'],
    ['HTTPS://WWW.Example.COM/Foo?Q=1', '@scheme', 'https'],
    ['HTTPS://WWW.Example.COM/Foo?Q=1', '@path', '/Foo'],
    ['HTTPS://WWW.Example.COM/Foo?Q=1', '@target-uri', 'HTTPS://WWW.Example.COM/Foo?Q=1'],
    // raw percent-escapes are kept, never decoded or re-encoded (§2.2.6)
    ['https://example.com/a%2Fb%20c/%7Euser', '@path', '/a%2Fb%20c/%7Euser'],
    ['https://example.com/a%2fb?x=%41', '@request-target', '/a%2fb?x=%41'],
    ['https://example.com/a%2fb?x=%41', '@query', '?x=%41'],
    // a fragment is not part of the path or the query
    ['https://example.com/p?q=1#frag', '@path', '/p'],
    ['https://example.com/p?q=1#frag', '@query', '?q=1'],
    ['https://example.com/p#frag?q=1', '@query', '?'],
  ];
  it.each(table)('%s %s → %j', (url, component, expected) => {
    expect(value(request(url), component)).toBe(expected);
  });

  it('@method is the method as received, case preserved (§2.2.1)', () => {
    expect(value(request('https://example.com/', {}, 'POST'), '@method')).toBe('POST');
    expect(value(request('https://example.com/', {}, 'get'), '@method')).toBe('get');
  });

  it('derived components are never read from a header of the same name (§7.5.1)', () => {
    const everyHeader: SignedMessage = { method: 'GET', url: 'https://good.example/', fieldLines: () => ['evil'] };
    expect(value(everyHeader, '@method')).toBe('GET');
    expect(value(everyHeader, '@authority')).toBe('good.example');
    expect(value(everyHeader, '@path')).toBe('/');
  });

  it.each([
    ['/relative/path', '@path'],
    ['example.com/path', '@authority'],
    ['https://user:pw@example.com/', '@authority'],
    ['https://exa mple.com/', '@authority'],
    ['https://example.com/a b', '@path'],
    ['https://example.com/\n"x": y', '@path'],
    ['https://exämple.com/', '@authority'],
    ['https://example.com:8o/', '@authority'],
    ['https:///path', '@path'],
    ['1https://example.com/', '@scheme'],
  ])('an unusable URL %j gives component-invalid for %s', (url, component) => {
    expect(value(request(url), component)).toBe('component-invalid');
  });

  it('a request without url or method gives component-missing', () => {
    expect(value(request(undefined), '@authority')).toBe('component-missing');
    expect(value(request(undefined), '@target-uri')).toBe('component-missing');
    const noMethod: SignedMessage = { url: 'https://example.com/', fieldLines: () => undefined };
    expect(value(noMethod, '@method')).toBe('component-missing');
    expect(value(request('https://example.com/', {}, ''), '@method')).toBe('component-missing');
  });

  it('a method with a control character or space is invalid', () => {
    expect(value(request('https://example.com/', {}, 'GET\n'), '@method')).toBe('component-invalid');
    expect(value(request('https://example.com/', {}, 'G T'), '@method')).toBe('component-invalid');
  });

  it('re-parses the URL when a message object is reused with another url', () => {
    const message = { method: 'GET', url: 'https://a.example/one', fieldLines: () => undefined };
    expect(value(message, '@path')).toBe('/one');
    message.url = 'https://a.example/two';
    expect(value(message, '@path')).toBe('/two');
    message.url = 'not a url';
    expect(value(message, '@path')).toBe('component-invalid');
    message.url = 'https://a.example/three';
    expect(value(message, '@path')).toBe('/three');
  });

  it.each(['@signature', '@request-response', '@Method', '@'])('unknown or malformed derived name %s is invalid', (name) => {
    expect(componentValue(request('https://example.com/'), rawId(name, {}))).toBe('component-invalid');
  });

  it('@status on a request is invalid', () => {
    expect(value(request('https://example.com/'), '@status')).toBe('component-invalid');
  });

  it.each([
    ['@method', { sf: true }],
    ['@authority', { key: 'a' }],
    ['@path', { bs: true }],
    ['@path', { name: 'a' }],
    ['@query-param', {}],
    ['@query-param', { name: true }],
  ])('%s with %j is invalid', (name, params) => {
    expect(componentValue(request('https://example.com/?a=1'), rawId(name, params))).toBe('component-invalid');
  });
});

describe('@query-param (RFC 9421 §2.2.8)', () => {
  const url = 'https://example.com/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something';
  it.each([
    ['"@query-param";name="var"', 'this%20is%20a%20big%0Avalue'],
    ['"@query-param";name="bar"', 'with%20plus%20whitespace'],
    ['"@query-param";name="fa%C3%A7ade%22%3A%20"', 'something'],
  ])('RFC example %s → %s', (component, expected) => {
    expect(value(request(url), component)).toBe(expected);
  });

  it.each([
    ['https://example.com/foo?param=Value&Pet=dog', '"@query-param";name="Pet"', 'dog'],
    ['https://example.com/foo?param=Value&Pet=dog', '"@query-param";name="param"', 'Value'],
    ['https://example.com/?a', '"@query-param";name="a"', ''],
    ['https://example.com/?a=&b=1', '"@query-param";name="a"', ''],
    ['https://example.com/?&&a=1&&', '"@query-param";name="a"', '1'],
    ['https://example.com/?a=b=c', '"@query-param";name="a"', 'b%3Dc'],
    ['https://example.com/?q=%7E*-._~!\'()', '"@query-param";name="q"', '%7E*-._%7E%21%27%28%29'],
    ['https://example.com/?q=caf%C3%A9', '"@query-param";name="q"', 'caf%C3%A9'],
    ['https://example.com/?q=%zz%4', '"@query-param";name="q"', '%25zz%254'],
    ['https://example.com/?q=a%2Bb+c', '"@query-param";name="q"', 'a%2Bb%20c'],
    ['https://example.com/?my+name=x', '"@query-param";name="my%20name"', 'x'],
    ['https://example.com/?fa%c3%a7ade=x', '"@query-param";name="fa%C3%A7ade"', 'x'],
    ['https://example.com/?x=1#a=2', '"@query-param";name="x"', '1'],
  ])('%s %s → %j', (u, component, expected) => {
    expect(value(request(u), component)).toBe(expected);
  });

  it.each([
    ['https://example.com/?a=1&a=2', 'a'],
    ['https://example.com/?a=1&a', 'a'],
    ['https://example.com/?a=1&%61=2', 'a'],
    ['https://example.com/foo?param=Value&Pet=dog', 'pet'],
    ['https://example.com/foo?param=Value&Pet=dog', 'dog'],
    ['https://example.com/foo', 'a'],
    ['https://example.com/foo?', 'a'],
  ])('%s name=%s → component-missing (absent or repeated)', (u, name) => {
    expect(componentValue(request(u), componentId('@query-param', { name }))).toBe('component-missing');
  });
});

describe('@status and req (RFC 9421 §2.2.9, §2.4)', () => {
  const req = request('https://example.com/foo?x=1', { 'content-type': ['application/json'] }, 'POST');

  it('@status is the three-digit status of a response', () => {
    expect(value(response(200), '@status')).toBe('200');
    expect(value(response(503), '@status')).toBe('503');
    expect(value(response(99), '@status')).toBe('component-invalid');
  });

  it('request-only components on a response are invalid without req', () => {
    for (const name of ['@method', '@target-uri', '@authority', '@scheme', '@request-target', '@path', '@query']) {
      expect(value(response(200, {}, req), name)).toBe('component-invalid');
    }
    expect(value(response(200, {}, req), '"@query-param";name="x"')).toBe('component-invalid');
  });

  it('req reads derived components and fields from the request', () => {
    const res = response(200, { 'content-type': ['text/plain'] }, req);
    expect(value(res, '"@method";req')).toBe('POST');
    expect(value(res, '"@authority";req')).toBe('example.com');
    expect(value(res, '"@query-param";name="x";req')).toBe('1');
    expect(value(res, '"content-type";req')).toBe('application/json');
    expect(value(res, '"content-type"')).toBe('text/plain');
  });

  it('@status with req asks the request for a status: invalid', () => {
    expect(value(response(200, {}, req), '"@status";req')).toBe('component-invalid');
  });

  it('req on a response without its request is missing', () => {
    expect(value(response(200), '"@method";req')).toBe('component-missing');
    expect(value(response(200), '"content-type";req')).toBe('component-missing');
  });

  it('req on a request is invalid', () => {
    expect(value(req, '"@method";req')).toBe('component-invalid');
    expect(value(req, '"content-type";req')).toBe('component-invalid');
  });
});

describe('HTTP fields (RFC 9421 §2.1)', () => {
  // The RFC 9421 §2.1 example message, as raw field lines.
  const message = request('https://www.example.com/', {
    host: ['www.example.com'],
    date: ['Tue, 20 Apr 2021 02:07:56 GMT'],
    'x-ows-header': ['   Leading and trailing whitespace.   '],
    'x-obs-fold-header': ['Obsolete\r\n    line folding.'],
    'cache-control': ['max-age=60', '   must-revalidate'],
    'example-dict': [' a=1,    b=2;x=1;y=2,   c=(a   b   c)'],
    'x-empty-header': [''],
    accept: [' application/json', '*/*'],
    'x-internal': ['\t a  \t  b \t'],
    'x-fold-ows': ['a \t\r\n\t  b\r\n c'],
    'x-fold-lf': ['a\n b'],
  });

  it.each([
    ['"cache-control"', 'max-age=60, must-revalidate'],
    ['"date"', 'Tue, 20 Apr 2021 02:07:56 GMT'],
    ['"host"', 'www.example.com'],
    ['"x-empty-header"', ''],
    ['"x-obs-fold-header"', 'Obsolete line folding.'],
    ['"x-ows-header"', 'Leading and trailing whitespace.'],
    ['"example-dict"', 'a=1,    b=2;x=1;y=2,   c=(a   b   c)'],
    ['"accept"', 'application/json, */*'],
    ['"x-internal"', 'a  \t  b'],
    ['"x-fold-ows"', 'a b c'],
    ['"x-fold-lf"', 'a b'],
    // §2.1.1 sf: strict re-serialization
    ['"example-dict";sf', 'a=1, b=2;x=1;y=2, c=(a b c)'],
    // §2.1.2 key: one member, re-serialized
    ['"example-dict";key="a"', '1'],
    ['"example-dict";key="b"', '2;x=1;y=2'],
    ['"example-dict";key="c"', '(a b c)'],
  ])('%s → %j', (component, expected) => {
    expect(value(message, component)).toBe(expected);
  });

  it('a missing field is component-missing, an empty one is the empty string', () => {
    expect(value(message, '"x-absent"')).toBe('component-missing');
    expect(value(request('https://a.example/', { 'x-none': [] }), '"x-none"')).toBe('component-missing');
    expect(value(message, '"x-empty-header"')).toBe('');
  });

  it.each([
    ['non-ASCII', 'café'],
    ['a NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['a bare LF not followed by whitespace', 'a\nb'],
    ['a CR', 'a\rb'],
    ['a CRLF not followed by whitespace', 'a\r\nb'],
    ['a line break injecting a base line', 'x\n"@method": GET'],
    ['a trailing CRLF', 'value\r\n'],
  ])('a value with %s is component-invalid', (_what, line) => {
    const m = request('https://a.example/', { 'x-bad': ['fine', line] });
    expect(value(m, '"x-bad"')).toBe('component-invalid');
    expect(value(m, '"x-bad";sf')).toBe('component-invalid');
  });

  it('the order of repeated field lines matters', () => {
    expect(value(request('https://a.example/', { accept: ['*/*', 'application/json'] }), '"accept"')).toBe('*/*, application/json');
  });

  it.each([
    ['signature-agent', ['sig1="https://agent.example"', '  agent2="https://b.example";type=jwks_uri  '], 'sig1="https://agent.example", agent2="https://b.example";type=jwks_uri'],
    ['content-digest', ['sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'], 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'],
    ['x-unknown-list', ['1,   2', '(a   b);c=?1'], '1, 2, (a b);c'],
    ['x-unknown-item', ['  "hello";  x=1.50 '], '"hello";x=1.5'],
    ['x-unknown-dict', ['a=?1, b;c'], 'a, b;c'],
  ])('sf on %s re-serializes strictly', (name, lines, expected) => {
    expect(value(request('https://a.example/', { [name]: lines }), `"${name}";sf`)).toBe(expected);
  });

  it.each([
    ['example-dict', 'a=1, b=('],
    ['example-dict', '"just a string"'],
    ['x-unknown', 'not; a structured=field,'],
    ['x-unknown', '"unterminated'],
    ['x-unknown', '"hello" ;x'],
  ])('sf on an unparseable %s value %j is component-invalid', (name, line) => {
    expect(value(request('https://a.example/', { [name]: [line] }), `"${name}";sf`)).toBe('component-invalid');
  });

  it('key on a member that is absent is missing; on a value that is not a dictionary, invalid', () => {
    expect(value(message, '"example-dict";key="d"')).toBe('component-missing');
    expect(value(request('https://a.example/', { 'x-list': ['(a b), c'] }), '"x-list";key="c"')).toBe('component-invalid');
    expect(value(request('https://a.example/', { 'x-item': ['"str"'] }), '"x-item";key="a"')).toBe('component-invalid');
  });

  it('key selects the Signature-Agent member of a label, params kept, and a boolean member reads ?1', () => {
    const m = request('https://a.example/', { 'signature-agent': ['sig1="https://a.example";type=directory, sig2'] });
    expect(value(m, '"signature-agent";key="sig1"')).toBe('"https://a.example";type=directory');
    expect(value(m, '"signature-agent";key="sig2"')).toBe('?1');
  });

  it('key combines repeated lines before selecting (a later duplicate key wins)', () => {
    const m = request('https://a.example/', { 'signature-agent': ['a="one"', 'a="two", b="x"'] });
    expect(value(m, '"signature-agent";key="a"')).toBe('"two"');
  });

  it('bs wraps each line, trimmed, as a byte sequence (§2.1.3 example)', () => {
    const two = request('https://a.example/', { 'example-header': ['value, with, lots', '  of, commas '] });
    expect(value(two, '"example-header";bs')).toBe(':dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:');
    const one = request('https://a.example/', { 'example-header': ['value, with, lots, of, commas'] });
    expect(value(one, '"example-header";bs')).toBe(':dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:');
    expect(value(two, '"example-header"')).toBe('value, with, lots, of, commas');
  });

  it('bs carries latin1 octets that a plain value refuses, but not characters above U+00FF', () => {
    expect(value(request('https://a.example/', { 'x-latin': ['café'] }), '"x-latin";bs')).toBe(':Y2Fm6Q==:');
    expect(value(request('https://a.example/', { 'x-wide': ['€'] }), '"x-wide";bs')).toBe('component-invalid');
  });

  it('tr (trailers) is not supported', () => {
    expect(value(message, '"date";tr')).toBe('component-invalid');
  });

  it('a field component with a name parameter is invalid', () => {
    expect(componentValue(message, rawId('date', { name: 'x' }))).toBe('component-invalid');
  });
});

describe('signatureBase (RFC 9421 §2.5)', () => {
  const message = request('https://example.com/foo?Pet=dog', {
    date: ['Tue, 20 Apr 2021 02:07:55 GMT'],
    'x-says': ['malformed'],
  });

  it('builds one line per component and the params line, no trailing LF', () => {
    const components = [id('@method'), id('"@query-param";name="Pet"'), id('date'), id('x-says')];
    expect(signatureBase(message, { components, paramsValue: '("@method");created=1' })).toBe(
      '"@method": POST\n"@query-param";name="Pet": dog\n"date": Tue, 20 Apr 2021 02:07:55 GMT\n"x-says": malformed\n"@signature-params": ("@method");created=1',
    );
  });

  it('with no components is just the params line', () => {
    expect(signatureBase(message, { components: [], paramsValue: '();created=1' })).toBe('"@signature-params": ();created=1');
  });

  it('returns the first component problem', () => {
    expect(signatureBase(message, { components: [id('date'), id('x-absent'), id('@status')], paramsValue: '()' })).toBe('component-missing');
    expect(signatureBase(message, { components: [id('@status'), id('x-absent')], paramsValue: '()' })).toBe('component-invalid');
  });

  it('refuses a component covered twice or @signature-params covered, even when built by hand', () => {
    expect(signatureBase(message, { components: [id('date'), id('@method'), id('date')], paramsValue: '()' })).toBe('component-invalid');
    expect(signatureBase(message, { components: [rawId('@signature-params', {})], paramsValue: '()' })).toBe('component-invalid');
  });
});

describe('covers', () => {
  const signature = {
    components: [id('@authority'), id('"signature-agent";key="agent2"'), id('"content-digest";sf'), id('"@query-param";name="a";req')],
  };

  it.each([
    ['@authority', undefined, true],
    ['@authority', {}, true],
    ['signature-agent', { key: 'agent2' }, true],
    ['signature-agent', { key: 'agent1' }, false],
    ['signature-agent', undefined, false],
    ['content-digest', { sf: true }, true],
    ['content-digest', { sf: true, req: false }, true],
    ['content-digest', undefined, false],
    ['@query-param', { req: true, name: 'a' }, true],
    ['@query-param', { name: 'a' }, false],
    ['@path', undefined, false],
    ['@Authority', undefined, false],
  ] as const)('%s %j → %s', (name, params, expected) => {
    expect(covers(signature, name, params)).toBe(expected);
  });
});
