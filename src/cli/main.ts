// The `bonafide` executable (built to dist/cli.js). All logic lives in program.ts so tests can run it in-process.
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
