/**
 * User-Agent glob patterns: `*` matches any run of characters (including none), everything else is
 * literal, and letters match case-insensitively (ASCII: User-Agent values are ASCII). A deny list may
 * hold thousands of patterns and the User-Agent is chosen by the caller, so matching must be linear in
 * the User-Agent whatever the patterns and the input are. No regular expression is built: a pattern
 * cut at its stars is a sequence of literal pieces, and a glob of that shape matches exactly when each
 * piece is found at its leftmost place after the previous one (greedy is exact for `*`-only globs).
 *
 * All the pieces of all the patterns go into one Aho–Corasick automaton, scanned once over the
 * User-Agent: each reported piece occurrence advances the patterns waiting for that piece, and a
 * pattern is waiting for one piece at a time. The cost is one table step per character plus the
 * occurrences of pieces, not one scan per pattern.
 *
 *  - `abc` (no star): the whole User-Agent, compared as an occurrence that starts at 0 and ends last.
 *  - `abc*…`: the first piece must occur at 0. `…*xyz`: the last piece must end the User-Agent, after
 *    the pieces before it. `*` alone matches any User-Agent.
 */

/** One pattern to compile, and when it stops applying (ms since the epoch; default never). */
export interface UaPatternInput {
  readonly pattern: string;
  readonly expiresAt?: number;
}

/** Longest accepted pattern: longer ones are mistakes, and they cost automaton states. */
export const MAX_UA_PATTERN_LENGTH = 1024;

/** Why `pattern` cannot be compiled, or undefined when it can. */
export function uaPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'a User-Agent pattern must not be empty';
  if (pattern.length > MAX_UA_PATTERN_LENGTH) return `a User-Agent pattern must be at most ${MAX_UA_PATTERN_LENGTH} characters`;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return 'a User-Agent pattern must be printable ASCII (User-Agent values are ASCII)';
  }
  return undefined;
}

/** Default for `denseBudget`: 4 MiB of dense rows, enough for every state of a few thousand patterns. */
const DENSE_BUDGET = 1 << 20;

/** Compilation knobs. */
export interface UaPatternOptions {
  /**
   * How many dense transition entries (4 bytes each) to spend at most; states beyond keep their trie
   * edges in a hash table. Default 2^20. Lower it to trade speed on huge lists for memory.
   */
  readonly denseBudget?: number;
}

/** Static lists per piece: what a piece occurrence can start. */
const FLOAT = 0; // the pattern's first piece, anywhere
const START = 1; // the pattern's first piece, at offset 0
const END = 2; // the pattern's only piece, ending the User-Agent (`*xyz`)
const EXACT = 3; // the whole User-Agent (`xyz`)

/**
 * A compiled set of patterns. `match` answers the index (in the inputs) of a pattern that matches,
 * or -1. Matching keeps its scratch state in the set, so a set must not be used from two threads at
 * once (JavaScript is single-threaded per isolate; `match` is synchronous).
 */
export class UaPatternSet {
  /** Number of distinct patterns (after case folding and duplicate removal). */
  readonly size: number;

  // Patterns (deduplicated): which input they came from, when they expire, their piece sequence.
  readonly #source: Int32Array;
  readonly #expires: Float64Array;
  readonly #seqStart: Int32Array;
  readonly #seqLength: Int32Array;
  readonly #seq: Int32Array;
  readonly #suffix: Int32Array;
  /** A pattern that is only stars: matches everything. */
  readonly #any: number;

  // Pieces: distinct literal strings (folded).
  readonly #pieceText: readonly string[];
  readonly #pieceLength: Int32Array;
  readonly #staticOffset: readonly Int32Array[];
  readonly #staticItems: readonly Int32Array[];
  readonly #queueOffset: Int32Array;

  // Automaton.
  readonly #classOf: Uint8Array;
  readonly #classes: number;
  readonly #dense: Int32Array;
  readonly #denseStates: number;
  readonly #fail: Int32Array;
  readonly #hashKey: Int32Array;
  readonly #hashValue: Int32Array;
  readonly #hashMask: number;
  readonly #report: Int32Array;
  readonly #outNext: Int32Array;
  readonly #statePiece: Int32Array;

  // Scratch for one scan, reset lazily by epoch.
  #epoch = 0;
  readonly #floatEpoch: Uint32Array;
  readonly #queueEpoch: Uint32Array;
  readonly #queueHead: Int32Array;
  readonly #queueTail: Int32Array;
  readonly #queuePattern: Int32Array;
  readonly #queueStep: Int32Array;
  readonly #queueCursor: Int32Array;
  #text = '';
  #now = 0;

  /** Compiles `inputs`; throws a TypeError naming the first pattern `uaPatternProblem` refuses. */
  constructor(inputs: readonly (UaPatternInput | string)[], options: UaPatternOptions = {}) {
    // 1. Normalise (fold, collapse star runs) and deduplicate, keeping the latest expiry.
    const byText = new Map<string, number>();
    const texts: string[] = [];
    const sources: number[] = [];
    const expiries: number[] = [];
    inputs.forEach((input, index) => {
      const pattern = typeof input === 'string' ? input : input.pattern;
      const expiresAt = typeof input === 'string' ? Number.POSITIVE_INFINITY : (input.expiresAt ?? Number.POSITIVE_INFINITY);
      const problem = uaPatternProblem(pattern);
      if (problem !== undefined) throw new TypeError(`${problem}: ${JSON.stringify(pattern.slice(0, 64))}`);
      const text = foldAscii(pattern).replace(/\*+/g, '*');
      const known = byText.get(text);
      if (known === undefined) {
        byText.set(text, texts.length);
        texts.push(text);
        sources.push(index);
        expiries.push(expiresAt);
      } else if (expiresAt > expiries[known]!) {
        sources[known] = index;
        expiries[known] = expiresAt;
      }
    });
    const count = texts.length;
    this.size = count;
    this.#source = Int32Array.from(sources);
    this.#expires = Float64Array.from(expiries);

    // 2. Cut each pattern into pieces; decide which static list starts it and what it waits for next.
    const pieceIds = new Map<string, number>();
    const pieceText: string[] = [];
    const pieceOf = (text: string): number => {
      let id = pieceIds.get(text);
      if (id === undefined) {
        id = pieceText.length;
        pieceIds.set(text, id);
        pieceText.push(text);
      }
      return id;
    };
    const statics: number[][][] = [[], [], [], []];
    const addStatic = (kind: number, piece: number, pattern: number): void => {
      ((statics[kind]![piece] ??= []) as number[]).push(pattern);
    };
    const seqStart = new Int32Array(count);
    const seqLength = new Int32Array(count);
    const suffix = new Int32Array(count).fill(-1);
    const seq: number[] = [];
    const queued: number[] = [];
    let any = -1;
    texts.forEach((text, p) => {
      seqStart[p] = seq.length;
      if (!text.includes('*')) {
        addStatic(EXACT, pieceOf(text), p);
        return;
      }
      const parts = text.split('*');
      const head = parts[0]!;
      const tail = parts[parts.length - 1]!;
      const middle = parts.slice(1, -1).filter((part) => part.length > 0);
      const sequence = head.length > 0 ? [head, ...middle] : middle;
      if (tail.length > 0) suffix[p] = pieceOf(tail);
      if (sequence.length === 0) {
        if (tail.length === 0) any = p;
        else addStatic(END, suffix[p]!, p);
        return;
      }
      const ids = sequence.map(pieceOf);
      addStatic(head.length > 0 ? START : FLOAT, ids[0]!, p);
      for (let k = 1; k < ids.length; k++) queued.push(ids[k]!);
      seq.push(...ids);
      seqLength[p] = ids.length;
    });
    this.#any = any;
    this.#seqStart = seqStart;
    this.#seqLength = seqLength;
    this.#seq = Int32Array.from(seq);
    this.#suffix = suffix;
    const pieces = pieceText.length;
    this.#pieceText = pieceText;
    this.#pieceLength = Int32Array.from(pieceText, (text) => text.length);
    const offsets: Int32Array[] = [];
    const items: Int32Array[] = [];
    for (const lists of statics) {
      const offset = new Int32Array(pieces + 1);
      for (let w = 0; w < pieces; w++) offset[w + 1] = offset[w]! + (lists[w]?.length ?? 0);
      const flat = new Int32Array(offset[pieces]!);
      for (let w = 0; w < pieces; w++) if (lists[w] !== undefined) flat.set(lists[w]!, offset[w]!);
      offsets.push(offset);
      items.push(flat);
    }
    this.#staticOffset = offsets;
    this.#staticItems = items;
    // A pattern waits in a piece's queue at most once per place that piece has in it (k ≥ 1), so
    // that count is the queue's capacity for one scan.
    const queueOffset = new Int32Array(pieces + 1);
    for (const w of queued) queueOffset[w + 1]!++;
    for (let w = 0; w < pieces; w++) queueOffset[w + 1]! += queueOffset[w]!;
    this.#queueOffset = queueOffset;
    const capacity = queueOffset[pieces]!;
    this.#queuePattern = new Int32Array(capacity);
    this.#queueStep = new Int32Array(capacity);
    this.#queueCursor = new Int32Array(capacity);
    this.#queueHead = new Int32Array(pieces);
    this.#queueTail = new Int32Array(pieces);
    this.#queueEpoch = new Uint32Array(pieces);
    this.#floatEpoch = new Uint32Array(pieces);

    // 3. The automaton over the pieces, on an alphabet of the characters they use (+ class 0: other).
    const classOf = new Uint8Array(128);
    let classes = 1;
    for (const text of pieceText) {
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (classOf[c] === 0) classOf[c] = classes++;
      }
    }
    // Upper-case ASCII letters share their lower-case letter's class: the scan folds case for free.
    for (let c = 97; c <= 122; c++) classOf[c - 32] = classOf[c]!;
    this.#classOf = classOf;
    this.#classes = classes;
    const automaton = buildAutomaton(pieceText, classOf, classes, options.denseBudget ?? DENSE_BUDGET);
    this.#fail = automaton.fail;
    this.#report = automaton.report;
    this.#outNext = automaton.outNext;
    this.#statePiece = automaton.statePiece;
    this.#denseStates = automaton.denseStates;
    this.#dense = automaton.dense;
    this.#hashKey = automaton.hashKey;
    this.#hashValue = automaton.hashValue;
    this.#hashMask = automaton.hashMask;
  }

  /**
   * The index in the inputs of a pattern that matches `userAgent` and has not expired at `now`, or
   * -1. Linear in the User-Agent's length (plus the piece occurrences found); allocates nothing.
   */
  match(userAgent: string, now = Number.NEGATIVE_INFINITY): number {
    if (this.size === 0) return -1;
    if (this.#any !== -1 && this.#expires[this.#any]! > now) return this.#source[this.#any]!;
    const n = userAgent.length;
    if (n === 0) return -1;
    this.#epoch = this.#epoch === 0xffffffff ? this.#resetEpochs() : this.#epoch + 1;
    this.#text = userAgent;
    this.#now = now;
    const classOf = this.#classOf;
    const classes = this.#classes;
    const dense = this.#dense;
    const denseStates = this.#denseStates;
    const report = this.#report;
    const outNext = this.#outNext;
    const statePiece = this.#statePiece;
    let state = 0;
    for (let i = 0; i < n; i++) {
      const c = userAgent.charCodeAt(i);
      const cls = c < 128 ? classOf[c]! : 0;
      if (cls === 0) {
        state = 0;
        continue;
      }
      let next: number;
      for (;;) {
        if (state < denseStates) {
          next = dense[state * classes + cls]!;
          break;
        }
        next = this.#edge(state * classes + cls);
        if (next !== -1) break;
        state = this.#fail[state]!;
      }
      state = next;
      for (let r = report[state]!; r !== -1; r = outNext[r]!) {
        const hit = this.#onPiece(statePiece[r]!, i, n);
        if (hit !== -1) return this.#source[hit]!;
      }
    }
    return -1;
  }

  /** A sparse edge (state, class) of a state beyond the dense rows, or -1. */
  #edge(key: number): number {
    const keys = this.#hashKey;
    const mask = this.#hashMask;
    for (let slot = (Math.imul(key, 0x9e3779b1) >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const k = keys[slot]!;
      if (k === key) return this.#hashValue[slot]!;
      if (k === -1) return -1;
    }
  }

  /** A piece occurrence ending at `end`: advance whatever it lets advance; a completed pattern, or -1. */
  #onPiece(piece: number, end: number, n: number): number {
    const epoch = this.#epoch;
    const start = end - this.#pieceLength[piece]! + 1;
    const expires = this.#expires;
    const now = this.#now;
    if (this.#floatEpoch[piece] !== epoch) {
      // Every pattern starting with this piece anywhere takes its first (leftmost) occurrence.
      this.#floatEpoch[piece] = epoch;
      const offset = this.#staticOffset[FLOAT]!;
      const items = this.#staticItems[FLOAT]!;
      for (let j = offset[piece]!; j < offset[piece + 1]!; j++) {
        const p = items[j]!;
        if (expires[p]! > now) {
          const hit = this.#advance(p, 0, end + 1, n);
          if (hit !== -1) return hit;
        }
      }
    }
    if (start === 0) {
      const offset = this.#staticOffset[START]!;
      const items = this.#staticItems[START]!;
      for (let j = offset[piece]!; j < offset[piece + 1]!; j++) {
        const p = items[j]!;
        if (expires[p]! > now) {
          const hit = this.#advance(p, 0, end + 1, n);
          if (hit !== -1) return hit;
        }
      }
      if (end === n - 1) {
        const hit = this.#firstLive(EXACT, piece);
        if (hit !== -1) return hit;
      }
    }
    if (end === n - 1) {
      const hit = this.#firstLive(END, piece);
      if (hit !== -1) return hit;
    }
    if (this.#queueEpoch[piece] === epoch) {
      // Patterns waiting for this piece, oldest (smallest cursor) first: those whose cursor is at or
      // before this occurrence take it. Appends during the loop have cursor end + 1 > start.
      const cursors = this.#queueCursor;
      while (this.#queueHead[piece]! < this.#queueTail[piece]! && cursors[this.#queueHead[piece]!]! <= start) {
        const at = this.#queueHead[piece]!;
        this.#queueHead[piece] = at + 1;
        const hit = this.#advance(this.#queuePattern[at]!, this.#queueStep[at]!, end + 1, n);
        if (hit !== -1) return hit;
      }
    }
    return -1;
  }

  #firstLive(kind: number, piece: number): number {
    const offset = this.#staticOffset[kind]!;
    const items = this.#staticItems[kind]!;
    for (let j = offset[piece]!; j < offset[piece + 1]!; j++) {
      const p = items[j]!;
      if (this.#expires[p]! > this.#now) return p;
    }
    return -1;
  }

  /** Pattern `p` matched its piece number `step`, leaving `cursor`: queue it for the next, or finish it. */
  #advance(p: number, step: number, cursor: number, n: number): number {
    const next = step + 1;
    if (next < this.#seqLength[p]!) {
      const piece = this.#seq[this.#seqStart[p]! + next]!;
      if (this.#queueEpoch[piece] !== this.#epoch) {
        this.#queueEpoch[piece] = this.#epoch;
        this.#queueHead[piece] = this.#queueOffset[piece]!;
        this.#queueTail[piece] = this.#queueOffset[piece]!;
      }
      const at = this.#queueTail[piece]!;
      this.#queueTail[piece] = at + 1;
      this.#queuePattern[at] = p;
      this.#queueStep[at] = next;
      this.#queueCursor[at] = cursor;
      return -1;
    }
    const suffix = this.#suffix[p]!;
    if (suffix === -1) return p;
    // The last piece must end the User-Agent and start at or after the cursor. The cursor is the
    // leftmost possible, so if that fails nothing later can succeed.
    const text = this.#pieceText[suffix]!;
    const from = n - text.length;
    if (from < cursor) return -1;
    const ua = this.#text;
    for (let i = 0; i < text.length; i++) {
      let c = ua.charCodeAt(from + i);
      if (c >= 65 && c <= 90) c += 32;
      if (c !== text.charCodeAt(i)) return -1;
    }
    return p;
  }

  #resetEpochs(): number {
    this.#floatEpoch.fill(0);
    this.#queueEpoch.fill(0);
    return 1;
  }
}

/** Lower-cases ASCII letters only (what `match` does to the User-Agent, character by character). */
function foldAscii(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : text[i];
  }
  return out;
}

interface Automaton {
  readonly fail: Int32Array;
  /** Per state: the first state in its suffix chain (itself included) that ends a piece, or -1. */
  readonly report: Int32Array;
  /** Per piece-ending state: the next piece-ending state in its suffix chain, or -1. */
  readonly outNext: Int32Array;
  readonly statePiece: Int32Array;
  readonly denseStates: number;
  readonly dense: Int32Array;
  readonly hashKey: Int32Array;
  readonly hashValue: Int32Array;
  readonly hashMask: number;
}

/**
 * Builds the trie of the pieces, numbers its states breadth-first, and links failures. The first
 * states (as many as the dense budget allows, which is all of them for lists of a few thousand
 * patterns) get complete transition rows, so scanning is one array read per character; the rest keep
 * only their trie edges in a hash table and fall back along failure links, which on the way down
 * always reach a dense state because failure links point to shallower states.
 */
function buildAutomaton(pieces: readonly string[], classOf: Uint8Array, classes: number, budget: number): Automaton {
  // Trie with Map edges, in insertion order.
  const edges: Map<number, number>[] = [new Map()];
  const ending: number[] = [-1];
  pieces.forEach((text, piece) => {
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const cls = classOf[text.charCodeAt(i)]!;
      let next = edges[state]!.get(cls);
      if (next === undefined) {
        next = edges.length;
        edges.push(new Map());
        ending.push(-1);
        edges[state]!.set(cls, next);
      }
      state = next;
    }
    ending[state] = piece;
  });
  const total = edges.length;
  if (total * classes >= 2 ** 31) throw new RangeError('too many User-Agent patterns to compile');

  // Breadth-first renumbering: depth never decreases along the order, and failures point backwards.
  const order = [0];
  for (let i = 0; i < order.length; i++) for (const child of edges[order[i]!]!.values()) order.push(child);
  const rank = new Int32Array(total);
  order.forEach((old, index) => (rank[old] = index));

  const fail = new Int32Array(total);
  const statePiece = new Int32Array(total).fill(-1);
  const report = new Int32Array(total).fill(-1);
  const outNext = new Int32Array(total).fill(-1);
  const denseStates = Math.max(1, Math.min(total, Math.floor(budget / classes)));
  const dense = new Int32Array(denseStates * classes);
  let edgeCount = 0;
  for (let s = 0; s < total; s++) {
    statePiece[s] = ending[order[s]!]!;
    if (s >= denseStates) edgeCount += edges[order[s]!]!.size;
  }
  const hashSize = 2 ** Math.max(4, Math.ceil(Math.log2(edgeCount * 2 + 1)));
  const hashKey = new Int32Array(hashSize).fill(-1);
  const hashValue = new Int32Array(hashSize);
  const hashMask = hashSize - 1;
  const setEdge = (key: number, value: number): void => {
    let slot = (Math.imul(key, 0x9e3779b1) >>> 0) & hashMask;
    while (hashKey[slot] !== -1) slot = (slot + 1) & hashMask;
    hashKey[slot] = key;
    hashValue[slot] = value;
  };
  /** δ(state, class) for any state, using dense rows and failure links (valid once `state`'s failure is set). */
  const delta = (state: number, cls: number): number => {
    let s = state;
    for (;;) {
      if (s < denseStates) return dense[s * classes + cls]!;
      const child = edges[order[s]!]!.get(cls);
      if (child !== undefined) return rank[child]!;
      s = fail[s]!;
    }
  };

  for (let s = 0; s < total; s++) {
    const children = edges[order[s]!]!;
    // Children of the root fail to the root; deeper ones to δ(fail(parent), class).
    for (const [cls, old] of children) {
      const child = rank[old]!;
      fail[child] = s === 0 ? 0 : delta(fail[s]!, cls);
    }
    report[s] = statePiece[s] !== -1 ? s : s === 0 ? -1 : report[fail[s]!]!;
    if (statePiece[s] !== -1) outNext[s] = s === 0 ? -1 : report[fail[s]!]!;
    if (s < denseStates) {
      for (let cls = 0; cls < classes; cls++) {
        const child = children.get(cls);
        dense[s * classes + cls] = child !== undefined ? rank[child]! : s === 0 ? 0 : dense[fail[s]! * classes + cls]!;
      }
    } else {
      for (const [cls, old] of children) setEdge(s * classes + cls, rank[old]!);
    }
  }
  return { fail, report, outNext, statePiece, denseStates, dense, hashKey, hashValue, hashMask };
}
