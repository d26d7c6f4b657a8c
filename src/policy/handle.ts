import { EventEmitter } from 'node:events';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../observe/logger.js';
import { compilePolicy, PolicyError, type CompiledPolicy } from './compile.js';
import type { PolicyProblem } from './validate.js';
import type { PolicySource, PolicySubscription } from './source.js';
import type { PolicyDocument } from './types.js';

/** What `guard.policy.update` answers: the version now in force, or why the document was refused. */
export type PolicyUpdate =
  | { readonly ok: true; readonly version: number; readonly hash: string }
  | { readonly ok: false; readonly code: 'ERR_POLICY_INVALID' | 'ERR_POLICY_STALE'; readonly problems: readonly PolicyProblem[] };

/** Events of `guard.policy`: `applied` with `{ version, hash, previousVersion, source }`, `refused` with `{ code, problems, source }`. */
export interface PolicyEvents {
  applied: [{ version: number; hash: string; previousVersion: number | undefined; source: string }];
  refused: [{ code: 'ERR_POLICY_INVALID' | 'ERR_POLICY_STALE'; problems: readonly PolicyProblem[]; source: string }];
}

/**
 * The policy in force and how it changes. A new document is validated, compiled and swapped in one
 * reference assignment: a request being decided keeps the compiled policy it started with, the next
 * request sees the new one. A document that does not validate, or whose version is lower than the
 * current one, is refused (an event and an error log line) and the last good one stays.
 */
export class PolicyHandle extends EventEmitter<PolicyEvents> {
  #current: CompiledPolicy;
  readonly #logger: Logger;
  #watcher: FSWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #subscription: PolicySubscription | undefined;
  /** The stand-in before a source's first document (`waiting`), when no initial document was given. */
  #placeholder: CompiledPolicy | undefined;

  /**
   * `waiting: true` marks `initial` as a placeholder: until a document replaces it, `waiting` is true
   * and guards answer 503 `ERR_POLICY_UNAVAILABLE` instead of deciding under it.
   */
  constructor(initial: CompiledPolicy, logger: Logger, waiting = false) {
    super();
    this.#current = initial;
    this.#logger = logger;
    if (waiting) this.#placeholder = initial;
  }

  /** True until the first document arrives from the source, when the guard was given none to start with. */
  get waiting(): boolean {
    return this.#placeholder !== undefined && this.#current === this.#placeholder;
  }

  /** Resolves once the source (if any) has made its first attempt to load; at once without a source. */
  get ready(): Promise<void> {
    return this.#subscription?.ready ?? Promise.resolve();
  }

  /** Starts following `source` (at most one per handle). */
  follow(source: PolicySource): void {
    if (this.#subscription !== undefined) throw new Error('bonafide: this policy already follows a source');
    this.#subscription = source.follow(this);
  }

  /** The compiled policy in force. */
  get current(): CompiledPolicy {
    return this.#current;
  }

  get version(): number {
    return this.#current.version;
  }

  get hash(): string {
    return this.#current.hash;
  }

  /** Validates, compiles and swaps in `document`; never throws. A lower version than the current one is refused. */
  update(document: PolicyDocument | unknown, source = 'inline'): PolicyUpdate {
    let compiled: CompiledPolicy;
    try {
      compiled = compilePolicy(document);
    } catch (error) {
      const problems = error instanceof PolicyError ? error.problems : [{ path: '', message: 'the document could not be compiled' }];
      return this.#refuse('ERR_POLICY_INVALID', problems, source);
    }
    const previous = this.#current;
    if (compiled.version < previous.version) {
      return this.#refuse(
        'ERR_POLICY_STALE',
        [{ path: '/metadata/version', message: `version ${compiled.version} is lower than the version in force (${previous.version})` }],
        source,
      );
    }
    this.#current = compiled;
    if (compiled.hash !== previous.hash) {
      this.#logger.info(
        { bonafide: { policy: { version: compiled.version, hash: compiled.hash, previousVersion: previous.version, source } } },
        'bonafide: policy applied',
      );
      this.emit('applied', { version: compiled.version, hash: compiled.hash, previousVersion: previous.version, source });
    }
    return { ok: true, version: compiled.version, hash: compiled.hash };
  }

  #refuse(code: 'ERR_POLICY_INVALID' | 'ERR_POLICY_STALE', problems: readonly PolicyProblem[], source: string): PolicyUpdate {
    this.#logger.error(
      { bonafide: { policy: { code, problems: problems.slice(0, 20), source, versionInForce: this.#current.version } } },
      'bonafide: policy refused; the previous version stays in force',
    );
    if (this.listenerCount('refused') > 0) this.emit('refused', { code, problems, source });
    return { ok: false, code, problems };
  }

  /** Watches `file` and applies it whenever it changes (debounced); reading or parsing errors are refusals. */
  watchFile(file: string, debounceMs = 100): void {
    this.#watcher?.close();
    const reload = (): void => {
      this.#debounce = undefined;
      readFile(file, 'utf8').then(
        (text) => {
          let document: unknown;
          try {
            document = JSON.parse(text);
          } catch {
            this.#refuse('ERR_POLICY_INVALID', [{ path: '', message: `${file} is not valid JSON` }], `file:${file}`);
            return;
          }
          this.update(document, `file:${file}`);
        },
        () => this.#refuse('ERR_POLICY_INVALID', [{ path: '', message: `${file} could not be read` }], `file:${file}`),
      );
    };
    // Editors and deploy tools replace files (write elsewhere, rename over) as often as they write in
    // place; a watch on the file itself would lose track after a rename, so watch its directory.
    const name = basename(file);
    this.#watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (this.#debounce !== undefined) clearTimeout(this.#debounce);
      this.#debounce = setTimeout(reload, debounceMs);
      this.#debounce.unref?.();
    });
    this.#watcher.on('error', () => undefined);
  }

  /** Stops watching the file and following the source. */
  async close(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    const subscription = this.#subscription;
    this.#subscription = undefined;
    try {
      await subscription?.stop();
    } catch {
      // A source that fails to stop has nothing left for us to undo.
    }
  }
}

/** Reads and compiles a policy file at construction (synchronously, so a bad file fails `createGuard`). */
export function loadPolicyFile(file: string): CompiledPolicy {
  return compilePolicy(JSON.parse(readFileSync(file, 'utf8')));
}
