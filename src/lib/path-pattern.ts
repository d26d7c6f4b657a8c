/**
 * Route patterns: literal segments, `*` or `:name` for exactly one segment, and a final `**` for any
 * number of segments (including none). Matching is on whole segments, case-insensitive by default,
 * and ignores a trailing slash, so it costs one split and a loop: no regular expressions, no backtracking.
 */
export interface PathPattern {
  readonly source: string;
  match(path: string): boolean;
}

export function compilePathPattern(source: string, caseSensitive: boolean): PathPattern | undefined {
  if (!source.startsWith('/') || source.length > 1024) return undefined;
  const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
  const parts = trimSlash(source).split('/').slice(1);
  const rest = parts[parts.length - 1] === '**';
  const segments = (rest ? parts.slice(0, -1) : parts).map((p) => (p === '*' || p.startsWith(':') ? null : fold(p)));
  if (segments.some((s) => s === '**')) return undefined;
  return {
    source,
    match(path: string): boolean {
      const actual = trimSlash(path).split('/').slice(1);
      if (rest ? actual.length < segments.length : actual.length !== segments.length) return false;
      for (let i = 0; i < segments.length; i++) {
        const want = segments[i];
        const got = actual[i]!;
        if (want === null) {
          if (got.length === 0) return false;
        } else if (want !== fold(got)) {
          return false;
        }
      }
      return true;
    },
  };
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path === '/' ? '' : path;
}
