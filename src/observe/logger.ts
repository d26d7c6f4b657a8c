/** A pino-compatible logger: structured object first, message second. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = Object.freeze({
  info() {},
  warn() {},
  error() {},
});
