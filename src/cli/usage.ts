export const MAIN_USAGE = `Usage: bonafide <command> [options]

Tell genuine API callers from impostors: check requests the way the bonafide middleware would,
and sign requests the way a Web Bot Auth agent does.

Commands:
  verify [FILE]      Decide the requests in FILE (or stdin) and print one decision per line
  sign URL           Print the signature headers (or a curl command) for a request to URL
  keygen             Make an Ed25519 signing key, its keyid and its key directory
  policy validate F  Check a policy document; policy explain F REQ shows how it decides a request;
                     policy push F --redis URL publishes it to a fleet, policy history lists pushes

Options:
  -h, --help         Show this help
  -v, --version      Print the version

Run \`bonafide <command> --help\` for the options of a command.
`;

export const VERIFY_USAGE = `Usage: bonafide verify --profile approov|firebase|jwt|web-bot-auth|rfc9421 [options] [FILE]

Reads one request as JSON, or JSON Lines with one request per line, from FILE or stdin (FILE "-"
or none), checks every request with one guard, and prints each decision as one JSON line.
A request is { "method", "url", "headers", "ip"?, "body"? }; "url" is absolute, a header value is a
string or an array of lines (joined with ", "), and "body" (text) is what a signed Content-Digest
is checked against.

Options:
  --profile NAME           approov, firebase, jwt (attestation tokens), web-bot-auth or rfc9421
                           (HTTP message signatures) (required)
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

  web-bot-auth, rfc9421 (HTTP message signatures, RFC 9421)
  --keys FILE              Trusted public keys: a JWKS, a JWK or a PEM public key (required for
                           rfc9421 unless --hmac; web-bot-auth also finds keys in agents' directories)
  --no-directory           web-bot-auth: trust --keys only, never fetch a key directory
  --hmac KEYID=BASE64      rfc9421: a shared secret (at least 32 bytes); repeatable
  --tag TAG                Only signatures with this tag (default web-bot-auth for that profile)
  --require-nonce          Every signature must carry a nonce
  --max-age SECONDS        Refuse signatures created longer ago than this
  --allow-test-keys        Accept the RFC 9421 example keys (tests and demos only)
  --debug                  Print the signature base of every signature tried to stderr (it holds the
                           covered header values, e.g. Authorization: debug with test credentials)

Exit status: 0 every request allowed, 1 at least one denied, 2 usage or configuration error.

Examples:
  echo '{"method":"GET","url":"https://api.example.com/v1/items","headers":{"approov-token":"..."}}' \\
    | APPROOV_SECRET=... bonafide verify --profile approov
  bonafide verify --profile web-bot-auth --keys agent.jwks.json --no-directory --debug requests.jsonl
`;

export const SIGN_USAGE = `Usage: bonafide sign --key FILE --agent URL [options] URL

Signs one request to URL (HTTP Message Signatures, RFC 9421, Web Bot Auth profile by default) and
prints the headers to add, one "Name: value" per line, or with --curl a curl command that sends it.
The private key is read from FILE and never printed.

Options:
  --key FILE               Private key: a JWK (as \`bonafide keygen\` writes it) or a PEM (required)
  --agent URL              Signature-Agent: the https origin serving your key directory
                           (required for web-bot-auth)
  --method M               Request method (default GET, or POST with --data)
  --header 'Name: value'   A request header; repeatable (sent, and coverable with --component)
  --data STRING|@FILE      Request body, as text or from FILE; gets a Content-Digest that is signed
  --label L                Signature label (default sig1)
  --component C            A component to cover as well, e.g. @method, @path, @query, content-type,
                           '"@query-param";name="id"'; repeatable (web-bot-auth always covers
                           @authority and its Signature-Agent; rfc9421 default: @method @authority
                           @path @query)
  --expires-in SECONDS     Signature lifetime (default 300)
  --profile NAME           web-bot-auth (default) or rfc9421
  --algorithm NAME         For RSA keys: rsa-pss-sha512 or rsa-v1_5-sha256
  --legacy-agent           Send the legacy Signature-Agent form, a bare "https://..." string
  --no-nonce               Send no nonce (default: 64 random bytes)
  --now UNIX               Sign as if the time were UNIX (seconds since the epoch)
  --curl                   Print a curl command instead of the headers
  -h, --help               Show this help

Exit status: 0 signed, 2 usage, configuration or signing error.

Example:
  bonafide sign --key bot.jwk --agent https://bot.example --component @method --component @path \\
    --curl https://api.example.com/v1/items
`;

export const KEYGEN_USAGE = `Usage: bonafide keygen [--format jwk|directory|all] [--out FILE]

Makes a new Ed25519 signing key. Prints (as JSON) the private JWK, its keyid (the RFC 7638
thumbprint Web Bot Auth uses) and the key directory to serve at
/.well-known/http-message-signatures-directory ({"keys":[public JWK]}).

Options:
  --format all             {"keyid", "privateJwk", "publicJwk", "directory"} (default)
  --format jwk             The private JWK only (the public JWK with --out)
  --format directory       The key directory only (needs --out, or the private key would be lost)
  --out FILE               Write the private JWK to FILE (mode 0600; an existing FILE is never
                           overwritten) and print no private key
  --algorithm NAME         ed25519 (default), ecdsa-p256-sha256, ecdsa-p384-sha384,
                           rsa-pss-sha512 or rsa-v1_5-sha256
  -h, --help               Show this help

The private key is a secret: keep it out of version control and logs.

Example:
  bonafide keygen --out bot.jwk --format directory > http-message-signatures-directory
`;

export const POLICY_USAGE = `Usage: bonafide policy validate FILE
       bonafide policy explain FILE REQUEST.json
       bonafide policy push FILE --redis URL [--prefix P] [--by NAME] [--comment TEXT]
       bonafide policy history --redis URL [--prefix P] [--count N] [--json]

validate  Checks the policy document in FILE against the schema and the rules it cannot express
          (unique rule ids, CIDR blocks, path patterns, durations, dates). Prints {"valid", "version",
          "hash"} or the problems, each with its JSON path. Exit 0 valid, 1 invalid.

explain   Evaluates the policy for the request in REQUEST.json and prints the verdict and the trace:
          which list entry or rule decided, and why each one before it did not match. No verifier runs:
          REQUEST.json is { "method", "url", "headers"?, "ip"?, "principal"?, "proven"? }, where
          "principal" is what a check would have found (default anonymous) and "proven" is
          { "attestation": bool, "signature": bool }. Exit 0 allowed, 1 denied or challenged.

push      Validates the document in FILE and publishes it to the guards that follow the Redis at URL
          (followRedisPolicy): stores it, records an audit entry and announces the new version, in one
          atomic step. A version lower than the stored one is refused (ERR_POLICY_STALE); an equal one
          is accepted. Prints "pushed version V (sha256:HASH) to URL (previous version P)".
          Exit 0 pushed, 1 invalid or stale document (nothing stored) or Redis unreachable.

history   Lists the audit entries of the pushes, oldest first: id, time, version, previous version,
          hash (shortened), who and why. Exit 0, 1 when Redis is unreachable.

Options:
  --redis URL       redis://[user:password@]host[:port][/db] or rediss:// (TLS); the password is
                    never printed (push, history; required)
  --prefix P        Key prefix, as given to followRedisPolicy (default "bonafide:")
  --by NAME         Who pushes, for the audit entry (default: the document's metadata.updatedBy,
                    else the OS user name)
  --comment TEXT    Why, for the audit entry (the document's metadata.comment takes precedence)
  --count N         history: only the latest N entries
  --json            history: print the entries as one JSON array of
                    { "id", "version", "hash", "previousVersion", "by", "at", "comment" }
  -h, --help        Show this help

Push and history need the ioredis package (\`npm install ioredis\`).
`;
