import type { Readable } from 'node:stream';

/** Where a command reads and writes. Injected so the CLI runs in-process in tests. */
export interface CliIo {
  /** Request input when no FILE (or `-`) is given: a stream, any async iterable of chunks, or the text itself. */
  readonly stdin: Readable | AsyncIterable<string | Uint8Array> | string;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Environment variables the CLI reads (`APPROOV_SECRET`). Default: none. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A mistake in how the command was called. Exit status 2; the message is shown as-is. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Reads the whole of an input as UTF-8 text. */
export async function readAll(input: CliIo['stdin']): Promise<string> {
  if (typeof input === 'string') return input;
  const decoder = new TextDecoder('utf-8');
  let text = '';
  for await (const chunk of input as AsyncIterable<string | Uint8Array>) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}
