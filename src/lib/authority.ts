/**
 * RFC 3986 §3.2.2 authority without userinfo: a reg-name or IPv4 address (unreserved, sub-delims,
 * pct-encoded) or a bracketed IP literal, then an optional `:port`. Checked with a character table in
 * one pass: this runs on every request, and a regular expression costs several times more.
 */
const REG_NAME = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%") REG_NAME[c.charCodeAt(0)] = 1;
const IP_LITERAL = new Uint8Array(128);
for (const c of '0123456789ABCDEFabcdef:.') IP_LITERAL[c.charCodeAt(0)] = 1;

/** True when `text.slice(start, end)` is a valid authority (host with an optional port). */
export function isAuthority(text: string, start = 0, end = text.length): boolean {
  if (end <= start) return false;
  let i = start;
  if (text.charCodeAt(i) === 91 /* [ */) {
    i++;
    while (i < end && text.charCodeAt(i) !== 93 /* ] */) {
      const c = text.charCodeAt(i);
      if (c >= 128 || IP_LITERAL[c] === 0) return false;
      i++;
    }
    if (i === end || i === start + 1) return false;
    i++;
  } else {
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 58 /* : */) break;
      if (c >= 128 || REG_NAME[c] === 0) return false;
      i++;
    }
    if (i === start) return false;
  }
  if (i === end) return true;
  if (text.charCodeAt(i) !== 58 || end - i - 1 > 5) return false;
  for (i++; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Where the path of an absolute `http(s)://authority[/path][?query]` URL starts, or -1 when the URL
 * is not one: another scheme, userinfo, a malformed authority, or a fragment (a request URL never
 * has one, and a `#` smuggled in through a Host header would move where the path seems to start).
 */
export function pathStart(url: string): number {
  let i: number;
  if (url.startsWith('https://') || url.startsWith('HTTPS://')) i = 8;
  else if (url.startsWith('http://') || url.startsWith('HTTP://')) i = 7;
  else {
    const lower = url.slice(0, 8).toLowerCase();
    if (lower.startsWith('https://')) i = 8;
    else if (lower.startsWith('http://')) i = 7;
    else return -1;
  }
  if (url.includes('#', i)) return -1;
  let end = i;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */) break;
    end++;
  }
  return isAuthority(url, i, end) ? end : -1;
}
