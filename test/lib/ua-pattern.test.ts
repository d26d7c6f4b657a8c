import { describe, expect, it } from 'vitest';
import { UaPatternSet, uaPatternProblem } from '../../src/lib/ua-pattern.js';

/** Reference glob matcher (quadratic dynamic programming): what the automaton must agree with. */
function reference(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const s = text.toLowerCase();
  let previous = new Array<boolean>(s.length + 1).fill(false);
  previous[0] = true;
  for (let i = 1; i <= p.length; i++) {
    const current = new Array<boolean>(s.length + 1).fill(false);
    if (p[i - 1] === '*') {
      current[0] = previous[0]!;
      for (let j = 1; j <= s.length; j++) current[j] = previous[j]! || current[j - 1]!;
    } else {
      for (let j = 1; j <= s.length; j++) current[j] = previous[j - 1]! && p[i - 1] === s[j - 1];
    }
    previous = current;
  }
  return previous[s.length]!;
}

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

describe('UaPatternSet', () => {
  const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

  it('matches the shapes: exact, prefix, suffix, infix, several stars, star alone', () => {
    const set = new UaPatternSet(['curl/8.5.0', 'python-requests/*', '*(compatible; GPTBot/1.*', '*bytespider', 'mozilla/*chrome/*safari/*']);
    expect(set.match('curl/8.5.0')).toBe(0);
    expect(set.match('python-requests/2.32.0')).toBe(1);
    expect(set.match('Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) (compatible; GPTBot/1.2; +https://openai.com/gptbot)')).toBe(2);
    expect(set.match('Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider')).toBe(3);
    expect(new UaPatternSet(['mozilla/*chrome/*safari/*']).match(chrome)).toBe(0);
    expect(new UaPatternSet(['*']).match('')).toBe(0);
  });

  it('is case-insensitive on both sides', () => {
    const set = new UaPatternSet(['*GPTBOT*']);
    expect(set.match('mozilla (gptbot/1.0)')).toBe(0);
    expect(set.match('GptBot')).toBe(0);
    expect(set.match('GPT-Bot')).toBe(-1);
  });

  it('anchors patterns without a leading or trailing star', () => {
    const set = new UaPatternSet(['bot*', '*spider']);
    expect(set.match('robot')).toBe(-1);
    expect(set.match('bots')).toBe(0);
    expect(set.match('spiders')).toBe(-1);
    expect(set.match('a spider')).toBe(1);
    const exact = new UaPatternSet(['curl']);
    expect(exact.match('curl')).toBe(0);
    expect(exact.match('curl/8')).toBe(-1);
    expect(exact.match('xcurl')).toBe(-1);
  });

  it('needs the pieces in order and without overlap', () => {
    const set = new UaPatternSet(['*ab*ba*']);
    expect(set.match('aba')).toBe(-1);
    expect(set.match('abba')).toBe(0);
    const anchored = new UaPatternSet(['ab*ba']);
    expect(anchored.match('aba')).toBe(-1);
    expect(anchored.match('abba')).toBe(0);
    expect(anchored.match('abxba')).toBe(0);
  });

  it('answers -1 for an empty set and does not match the empty User-Agent except with *', () => {
    expect(new UaPatternSet([]).match(chrome)).toBe(-1);
    expect(new UaPatternSet(['*a*', 'b']).match('')).toBe(-1);
  });

  it('skips expired patterns, and keeps the longest-lived duplicate', () => {
    const set = new UaPatternSet([
      { pattern: '*scraper*', expiresAt: 1000 },
      { pattern: '*SCRAPER*', expiresAt: 5000 },
      { pattern: 'exact', expiresAt: 1000 },
      { pattern: '*tail', expiresAt: 1000 },
      { pattern: '*', expiresAt: 1000 },
    ]);
    expect(set.size).toBe(4);
    expect(set.match('a scraper', 2000)).toBe(1);
    expect(set.match('a scraper', 5000)).toBe(-1);
    expect(set.match('exact', 999)).toBe(4); // "*" is live and matches everything
    expect(set.match('exact', 1000)).toBe(-1);
    expect(set.match('the tail', 1000)).toBe(-1);
    expect(new UaPatternSet([{ pattern: 'exact', expiresAt: 1000 }]).match('exact', 999)).toBe(0);
  });

  it('agrees with a reference matcher on random patterns and inputs (dense and sparse automata)', () => {
    const next = random(42);
    const alphabet = 'abAB*';
    const text = 'abAc';
    for (let round = 0; round < 3000; round++) {
      const patterns: string[] = [];
      const count = 1 + next(6);
      for (let i = 0; i < count; i++) {
        let p = '';
        for (let j = 0, n = 1 + next(6); j < n; j++) p += alphabet[next(alphabet.length)];
        patterns.push(p);
      }
      const set = new UaPatternSet(patterns, { denseBudget: round % 2 === 0 ? 1 : 1 << 20 });
      for (let q = 0; q < 8; q++) {
        let ua = '';
        for (let j = 0, n = next(10); j < n; j++) ua += text[next(text.length)];
        const got = set.match(ua);
        const expected = patterns.some((p) => reference(p, ua));
        expect(got !== -1, `${JSON.stringify(patterns)} vs ${JSON.stringify(ua)}`).toBe(expected);
        if (got !== -1) expect(reference(patterns[got]!, ua)).toBe(true);
      }
    }
  });

  it('matches a 100 KB adversarial User-Agent against 1,000 patterns in one linear pass', () => {
    // Patterns built to make a backtracking matcher explode: many stars over a one-letter alphabet,
    // a literal that almost occurs, and a suffix that never does.
    const patterns: string[] = [];
    for (let i = 0; i < 1000; i++) patterns.push(`*${'a*'.repeat(1 + (i % 20))}${'a'.repeat(i % 50)}b${i}*c`);
    const set = new UaPatternSet(patterns);
    const ua = 'a'.repeat(100 * 1024);
    expect(set.match(ua)).toBe(-1);
    expect(set.match(`${ua}b7c`)).toBe(7);
    const sparse = new UaPatternSet(patterns, { denseBudget: 64 });
    expect(sparse.match(ua)).toBe(-1);
  });

  it('keeps a few thousand realistic patterns in one automaton', () => {
    const patterns = Array.from({ length: 5000 }, (_, i) => `*crawler-${i}/*`);
    const set = new UaPatternSet(patterns);
    expect(set.size).toBe(5000);
    expect(set.match('Mozilla/5.0 (compatible; crawler-4321/2.0)')).toBe(4321);
    expect(set.match('Mozilla/5.0 (compatible; crawler-43210/2.0)')).toBe(-1);
  });

  it('refuses patterns that are empty, too long or not printable ASCII', () => {
    expect(uaPatternProblem('')).toMatch(/empty/);
    expect(uaPatternProblem('x'.repeat(1025))).toMatch(/at most/);
    expect(uaPatternProblem('bot\u00e9')).toMatch(/ASCII/);
    expect(uaPatternProblem('bot\n')).toMatch(/ASCII/);
    expect(uaPatternProblem('Mozilla/5.0 (*)')).toBeUndefined();
    expect(() => new UaPatternSet([''])).toThrow(TypeError);
  });
});
