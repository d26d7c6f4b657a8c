/** A fake fetch that serves a JWKS and records every call, for remote key set tests. */
export interface FakeJwks {
  fetch: typeof globalThis.fetch;
  calls: string[];
  /** What the next responses are: a JWKS object, an HTTP status, a raw body, or a hang. */
  respond: { jwks?: object; status?: number; body?: string; hang?: boolean; delayMs?: number };
}

export function fakeJwks(jwks: object): FakeJwks {
  const state: FakeJwks = {
    calls: [],
    respond: { jwks },
    fetch: async (input, init) => {
      state.calls.push(String(input));
      const r = state.respond;
      if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
      if (r.hang) {
        // Honour the abort signal like a real fetch would.
        return new Promise<Response>((_, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason ?? new Error('aborted')));
        });
      }
      if (r.status && r.status !== 200) return new Response('error', { status: r.status });
      return new Response(r.body ?? JSON.stringify(r.jwks), { status: 200, headers: { 'content-type': 'application/json' } });
    },
  };
  return state;
}
