import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The static half of the constant-time review (constant-time.test.ts is the behavioural half). It
 * parses src/ with the TypeScript compiler and checks, for every function that handles
 * secret-derived bytes:
 * - that it compares them with `timingSafeEqual` imported from `node:crypto` (or with
 *   `timingSafeEqualString`, which does);
 * - that none of its secret-bearing values is an operand of `===`, `!==`, `==`, `!=`, or the
 *   receiver or argument of `.equals`, `.compare`, `Buffer.compare`, `.includes`, `.indexOf`,
 *   `.startsWith`, `.endsWith` or `.localeCompare` — their `.length` (fixed by the algorithm, or
 *   chosen by the caller) and `.type` may be compared.
 * And, across all of src/: no `Buffer.compare` / `.equals(` anywhere, and every function that
 * computes an HMAC either compares it with timingSafeEqual or is a signer (produces, never compares).
 *
 * Reviewed and not listed, because nothing secret is compared there:
 * - the verified-token cache (attestation/token-verifier.ts): keyed by a 30-bit slot mixed, with a
 *   per-process random seed, from the last characters of the token (its signature segment); only on
 *   a slot match is the presented token compared with the stored one (`hit.token === token`). A
 *   caller cannot aim at the slot of a token it does not hold (the seed never leaves the process), so
 *   for any stored token that comparison runs with a chance of 2^-30 per request;
 * - the verified-signature cache (signatures/verifier.ts, keyed by keyid and signature bytes, a hit
 *   also needing `hit.base === base`, where the base is the request's own public content): a `Map`
 *   lookup (lib/lru.ts), which hashes the key first and compares contents only on a full hash match,
 *   with a per-process hash seed, so a lookup leaks no prefix of a stored entry;
 * - nonce keys (SHA-256 of keyid and nonce, signatures/verifier.ts) and rate-limit keys (SHA-256 of
 *   the key material, limits/rate-limit.ts): digests of public or caller-held values;
 * - asymmetric signatures (RSA, ECDSA, Ed25519): verified inside OpenSSL by crypto.verify, no byte
 *   comparison in JavaScript;
 * - jose: used only by the signer (src/signer) to sign and export keys; no verification in src
 *   goes through it (checked below), so HS256 is verified by attestation/jws.ts.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

interface Checked {
  /** Path under the repository root. */
  readonly file: string;
  readonly fn: string;
  /** Identifiers that hold secret-derived bytes (or text) inside the function. */
  readonly secrets: readonly string[];
  /** The constant-time primitive it must call (directly). */
  readonly calls: 'timingSafeEqual' | 'timingSafeEqualString' | 'verifyHmac';
  readonly why: string;
}

const CHECKED: readonly Checked[] = [
  { file: 'src/lib/timing-safe.ts', fn: 'timingSafeEqualString', secrets: ['expected', 'actual', 'a', 'b'], calls: 'timingSafeEqual', why: 'the string comparison helper' },
  { file: 'src/attestation/binding.ts', fn: 'checkBinding', secrets: ['pay', 'bound'], calls: 'timingSafeEqualString', why: 'Approov token binding: pay vs SHA-256 of the bound headers' },
  { file: 'src/attestation/jws.ts', fn: 'verifyJwsSignature', secrets: ['mac', 'signature'], calls: 'timingSafeEqual', why: 'HS256/384/512 JWT signatures (Approov, generic JWT)' },
  { file: 'src/signatures/algorithms.ts', fn: 'verifyWith', secrets: ['signature'], calls: 'verifyHmac', why: 'RFC 9421 verification, hmac-sha256 delegated' },
  { file: 'src/signatures/algorithms.ts', fn: 'verifyHmac', secrets: ['secret', 'signature'], calls: 'timingSafeEqual', why: 'RFC 9421 hmac-sha256 signatures' },
  { file: 'src/signatures/content-digest.ts', fn: 'matches', secrets: ['expected', 'received'], calls: 'timingSafeEqual', why: 'Content-Digest against the body' },
  { file: 'src/signatures/keys.ts', fn: 'isRfc9421TestKey', secrets: ['secret', 'same'], calls: 'timingSafeEqual', why: 'a configured HMAC secret against the RFC 9421 test secret' },
];

/** Functions that compute an HMAC and must not compare it: they sign. */
const SIGNERS: ReadonlySet<string> = new Set(['src/signatures/algorithms.ts#signWith']);

const COMPARE_OPERATORS = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);
const COMPARE_METHODS = new Set(['equals', 'compare', 'includes', 'indexOf', 'startsWith', 'endsWith', 'localeCompare']);
/** Properties of a secret that are public. */
const PUBLIC_PROPERTIES = new Set(['length', 'type', 'byteLength']);

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** Top-level function declarations (and class methods) by name. */
function functionsOf(source: ts.SourceFile): Map<string, ts.FunctionLikeDeclaration> {
  const found = new Map<string, ts.FunctionLikeDeclaration>();
  walk(source, (node) => {
    if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined && node.body !== undefined) {
      found.set(node.name.getText(source), node);
    }
  });
  return found;
}

/** True when `node` is a secret-bearing value: a listed identifier, or anything but a public property of one. */
function bearsSecret(node: ts.Expression, secrets: readonly string[]): boolean {
  let current: ts.Expression = node;
  while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isNonNullExpression(current)) current = current.expression;
  if (ts.isIdentifier(current)) return secrets.includes(current.text);
  if (ts.isPropertyAccessExpression(current)) {
    if (PUBLIC_PROPERTIES.has(current.name.text)) return false;
    return bearsSecret(current.expression, secrets);
  }
  if (ts.isElementAccessExpression(current)) return bearsSecret(current.expression, secrets);
  if (ts.isCallExpression(current)) {
    // e.g. secret.toString('hex'), Buffer.from(mac): the result still carries the secret.
    if (ts.isPropertyAccessExpression(current.expression) && bearsSecret(current.expression.expression, secrets)) return true;
    return current.arguments.some((arg) => bearsSecret(arg, secrets));
  }
  return false;
}

/** Non-constant-time comparisons of secret-bearing values in `fn`, as `line: text`. */
function unsafeComparisons(source: ts.SourceFile, fn: ts.Node, secrets: readonly string[]): string[] {
  const found: string[] = [];
  const at = (node: ts.Node) => `${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText(source)}`;
  walk(fn, (node) => {
    if (ts.isBinaryExpression(node) && COMPARE_OPERATORS.has(node.operatorToken.kind)) {
      if (bearsSecret(node.left, secrets) || bearsSecret(node.right, secrets)) found.push(at(node));
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && COMPARE_METHODS.has(node.expression.name.text)) {
      const receiver = node.expression.expression;
      const isBufferCompare = ts.isIdentifier(receiver) && receiver.text === 'Buffer';
      if (isBufferCompare || bearsSecret(receiver, secrets) || node.arguments.some((a) => bearsSecret(a, secrets))) found.push(at(node));
    }
  });
  return found;
}

function callsTo(fn: ts.Node, name: string): number {
  let count = 0;
  walk(fn, (node) => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === name) count++;
  });
  return count;
}

/** Where `name` is imported from in `source`, if it is. */
function importOf(source: ts.SourceFile, name: string): string | undefined {
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || statement.importClause?.namedBindings === undefined) continue;
    const bindings = statement.importClause.namedBindings;
    if (ts.isNamedImports(bindings) && bindings.elements.some((e) => e.name.text === name && (e.propertyName?.text ?? name) === name)) {
      return (statement.moduleSpecifier as ts.StringLiteral).text;
    }
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(ROOT, path)] : [];
  });
}

describe('constant-time comparisons of secret-derived bytes (static review of src/)', () => {
  describe.each(CHECKED.map((c) => [`${c.file} ${c.fn}`, c] as const))('%s', (_title, checked) => {
    const source = parse(checked.file);
    const fn = functionsOf(source).get(checked.fn);

    it(`exists (${checked.why})`, () => {
      expect(fn).toBeDefined();
    });

    it(`calls ${checked.calls}${checked.calls === 'timingSafeEqual' ? ' from node:crypto' : ''}`, () => {
      expect(callsTo(fn!, checked.calls)).toBeGreaterThanOrEqual(1);
      if (checked.calls === 'timingSafeEqual') expect(importOf(source, 'timingSafeEqual')).toBe('node:crypto');
      if (checked.calls === 'timingSafeEqualString') expect(importOf(source, 'timingSafeEqualString')).toBe('../lib/timing-safe.js');
    });

    it(`never compares ${checked.secrets.join(', ')} with ===, !==, Buffer.equals or Buffer.compare`, () => {
      expect(unsafeComparisons(source, fn!, checked.secrets)).toEqual([]);
    });
  });

  it('the scanner flags what it is meant to flag', () => {
    const sample = ts.createSourceFile(
      'sample.ts',
      `function f(mac: Buffer, sig: Buffer, pay: string) {
        if (mac.length !== sig.length) return false;
        if (mac.type === 'x') return false;
        const a = mac === sig;
        const b = mac.equals(sig);
        const c = Buffer.compare(mac, sig) === 0;
        const d = pay !== expectedHash(pay);
        const e = mac.toString('hex') == sig.toString('hex');
        const f = sig[0] === mac[0];
        return timingSafeEqual(mac, sig);
      }`,
      ts.ScriptTarget.ES2022,
      true,
    );
    const fn = functionsOf(sample).get('f')!;
    expect(unsafeComparisons(sample, fn, ['mac', 'sig', 'pay']).map((line) => line.split(': ')[0])).toEqual(['4', '5', '6', '6', '7', '8', '9']);
    expect(callsTo(fn, 'timingSafeEqual')).toBe(1);
  });

  const files = sourceFiles(SRC);

  it('src/ has no Buffer.compare or .equals( anywhere', () => {
    const found: string[] = [];
    for (const file of files) {
      const source = parse(file);
      walk(source, (node) => {
        if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return;
        const name = node.expression.name.text;
        const receiver = node.expression.expression;
        if (name === 'equals' || (name === 'compare' && ts.isIdentifier(receiver) && receiver.text === 'Buffer')) {
          found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('every function that computes an HMAC compares it with timingSafeEqual, or is a signer', () => {
    const computing: string[] = [];
    const unchecked: string[] = [];
    for (const file of files) {
      const source = parse(file);
      for (const [name, fn] of functionsOf(source)) {
        if (callsTo(fn, 'createHmac') === 0) continue;
        const id = `${file}#${name}`;
        computing.push(id);
        if (!SIGNERS.has(id) && callsTo(fn, 'timingSafeEqual') === 0) unchecked.push(id);
      }
    }
    // The list is exact, so a new HMAC verification path has to be reviewed and added here.
    expect(computing.sort()).toEqual([
      'src/attestation/jws.ts#verifyJwsSignature',
      'src/signatures/algorithms.ts#signWith',
      'src/signatures/algorithms.ts#verifyHmac',
    ]);
    expect(unchecked).toEqual([]);
  });

  it('no verifier goes through jose (HS256 is verified by attestation/jws.ts)', () => {
    const importers = files.filter((file) =>
      parse(file).statements.some((s) => ts.isImportDeclaration(s) && (s.moduleSpecifier as ts.StringLiteral).text === 'jose'),
    );
    expect(importers.every((file) => file.startsWith('src/signer/'))).toBe(true);
  });

  it('the caches that hold secret-bearing keys are Map lookups, never a scan; the token cache is keyed by a seeded slot', () => {
    const source = parse('src/lib/lru.ts');
    const scans: string[] = [];
    walk(source, (node) => {
      if (ts.isForOfStatement(node) || ts.isForInStatement(node) || ts.isForStatement(node)) scans.push(node.getText(source).split('\n')[0]!);
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && ['find', 'some', 'filter', 'keys', 'entries'].includes(node.expression.name.text)) {
        scans.push(node.getText(source));
      }
    });
    expect(scans).toEqual([]);
    const verifier = readFileSync(join(SRC, 'attestation/token-verifier.ts'), 'utf8');
    expect(verifier).toContain('const SLOT_SEED = randomBytes(4)');
    expect(verifier).toContain('let h = SLOT_SEED;');
    expect(verifier).toContain('this.#cache.get(slot, nowMs)');
    expect(verifier).toContain('hit !== undefined && hit.token === token');
  });
});
