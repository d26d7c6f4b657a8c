export const MAIN_USAGE = `Usage: bonafide <command> [options]

Tell genuine API callers from impostors: check requests the way the bonafide middleware would.

Commands:
  verify [FILE]      Decide the requests in FILE (or stdin) and print one decision per line

Options:
  -h, --help         Show this help
  -v, --version      Print the version

Run \`bonafide verify --help\` for the options of verify.
`;

export const VERIFY_USAGE = `Usage: bonafide verify --profile approov|firebase|jwt [options] [FILE]

Reads one request as JSON, or JSON Lines with one request per line, from FILE or stdin (FILE "-"
or none), checks every request with one guard, and prints each decision as one JSON line.
A request is { "method", "url", "headers", "ip"?, "body"? }; "url" is absolute, a header value is a
string or an array of lines (joined with ", "), and "body" is not read by any check yet.

Options:
  --profile NAME           approov, firebase or jwt (required)
  --header NAME            Header carrying the token (default: Approov-Token, X-Firebase-AppCheck,
                           or Authorization with the Bearer scheme for jwt)
  --now UNIX               Decide as if the time were UNIX (seconds since the epoch)
  -h, --help               Show this help

  approov
  --approov-secret BASE64  Account secret, as \`approov secret -get base64\` prints it; prefer
                           the APPROOV_SECRET environment variable (shell history, ps)
  --binding HEADER         Token binding: header(s) hashed into the "pay" claim, in order;
                           repeatable or a comma list

  firebase
  --project-number N       Firebase project number (required)
  --app-id ID              Only these app ids are allowed; repeatable or a comma list
  --jwks FILE              Keys from a JWKS file instead of Google's App Check JWKS

  jwt
  --alg LIST               Accepted algorithms, a comma list, e.g. RS256,ES256 (required)
  --jwks FILE|URL          A JWKS (or JWK, or PEM public key) file, or an https JWKS URL (required)
  --issuer ISS             Accepted issuer; repeatable
  --audience AUD           Accepted audience; repeatable

Exit status: 0 every request allowed, 1 at least one denied, 2 usage or configuration error.

Example:
  echo '{"method":"GET","url":"https://api.example.com/v1/items","headers":{"approov-token":"..."}}' \\
    | APPROOV_SECRET=... bonafide verify --profile approov
`;
