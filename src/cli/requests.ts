import { UsageError } from './io.js';

/**
 * Parses the `verify` input: the whole text as one JSON object (a pretty-printed request), or else
 * JSON Lines, one request per non-blank line. A line that is valid JSON but not a request object is
 * kept: the guard answers it with `ERR_REQUEST_INVALID`, so it still gets a decision.
 */
export function parseRequests(text: string, source: string): unknown[] {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const whole = tryParse(input);
  if (whole.ok && isPlainObject(whole.value)) return [toGuardRequest(whole.value)];

  const requests: unknown[] = [];
  const lines = input.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const parsed = tryParse(line);
    // The parser's own message quotes the input, which may hold a token: name the line only.
    if (!parsed.ok) throw new UsageError(`${source}, line ${i + 1}: not valid JSON (expected one request object per line)`);
    requests.push(toGuardRequest(parsed.value));
  }
  if (requests.length === 0) throw new UsageError(`${source}: no request found (expected a JSON object or JSON Lines)`);
  return requests;
}

/**
 * Maps `{ method, url, headers, body? }` to a GuardRequest: header values given as arrays of lines
 * are joined with ", " as HTTP does for repeated fields. Anything else is passed through unchanged.
 */
export function toGuardRequest(value: unknown): unknown {
  if (!isPlainObject(value) || !isPlainObject(value.headers)) return value;
  const headers: Record<string, string> = {};
  for (const [name, field] of Object.entries(value.headers)) {
    if (typeof field === 'string') headers[name] = field;
    else if (typeof field === 'number') headers[name] = String(field);
    else if (Array.isArray(field)) headers[name] = field.map(String).join(', ');
  }
  // `body` is accepted for forward compatibility; no attestation check reads it.
  return { method: value.method, url: value.url, headers, ...(typeof value.ip === 'string' ? { ip: value.ip } : {}) };
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
