/** Settings the framework examples read from the environment. */

/** APPROOV_SECRET, or exit with a message that says how to get one. */
export function approovSecretFromEnv(): string {
  const secret = process.env.APPROOV_SECRET?.trim();
  if (!secret) {
    console.error(
      [
        'APPROOV_SECRET is not set.',
        'Use your account secret (`approov secret -get base64`), or a random one for a local try-out:',
        '  export APPROOV_SECRET=$(node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'base64\'))")',
        'and mint a token for it with `npx tsx examples/mint-token.ts` (see examples/README.md).',
      ].join('\n'),
    );
    process.exit(1);
  }
  return secret;
}

/** PORT, default 3000. */
export function portFromEnv(): number {
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`PORT must be a port number, got ${process.env.PORT}`);
    process.exit(1);
  }
  return port;
}
