/** Codes of the errors that createGuard and the adapters throw for a bad configuration. */
export type ConfigErrorCode =
  | 'ERR_CONFIG_UNKNOWN_OPTION'
  | 'ERR_CONFIG_INVALID_VALUE'
  | 'ERR_CONFIG_MISSING_OPTION'
  | 'ERR_CONFIG_WEAK_SECRET'
  | 'ERR_CONFIG_INVALID_KEY';

const DOCS = 'https://www.npmjs.com/package/bonafide#configuration-errors';

/**
 * Thrown at construction when an option is unknown, missing or has a bad value. `code` is stable;
 * `path` names the option (e.g. `attestation.approov.secret`); the message says what to do. The
 * message never contains a secret or key material.
 */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly path: string;

  constructor(code: ConfigErrorCode, path: string, message: string) {
    super(`${message} (${code}, see ${DOCS})`);
    this.name = 'ConfigError';
    this.code = code;
    this.path = path;
  }
}
