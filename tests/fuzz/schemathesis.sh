#!/usr/bin/env bash
# OpenAPI-driven fuzzing: schemathesis generates requests for every operation in the live
# /openapi.json of the blog example and checks that nothing answers 5xx, that statuses,
# content types, headers and bodies match the document (errors included), that invalid
# requests are refused, that valid ones are accepted (tests/fuzz/schemathesis.toml lists
# the rules the document cannot state, such as "a relation names a stored record") and
# that protected operations demand a token. It runs once as an admin and once without a
# token.
#
#   bash tests/fuzz/schemathesis.sh [EXAMPLES_PER_OPERATION]   (default 30)
set -euo pipefail
cd "$(dirname "$0")/../.."
examples="${1:-30}"
cache="tests/.cache"
venv="$cache/schemathesis-venv"
mkdir -p "$cache"
if [[ ! -x "$venv/bin/schemathesis" ]]; then
  echo "== installing schemathesis into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

cargo build --quiet -p blog
data="$(mktemp -d)"
# An SMTP server that accepts and drops every mail, so the account endpoints that send
# one are fuzzed as they run in production (without mail they answer 503, by design).
peers_python="tests/.cache/peers/venv/bin/python"
if [[ ! -x "$peers_python" ]]; then
  echo "error: the SMTP server is missing: run 'bash tests/peers/install.sh'" >&2
  exit 1
fi
smtp_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$peers_python" -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Sink &
smtp=$!
trap 'kill "$smtp" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $smtp_port), 0.2)" 2>/dev/null && break
  sleep 0.1
done
# Port 0: the server takes a free port itself and logs it (a port picked beforehand could
# be taken by someone else before the server binds it).
export TINYBASE_DB_URL="$data/fuzz.db" RUST_LOG="warn,tinybase::cli=info" \
  TINYBASE_AUTH_LOGIN_LIMIT_PER_IP=0 TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL=0 \
  TINYBASE_AUTH_REGISTRATION_LIMIT_PER_IP=0 \
  TINYBASE_ADMIN_EMAIL=fuzz-admin@example.com TINYBASE_ADMIN_PASSWORD=fuzz-admin-password \
  TINYBASE_MAIL_SMTP_HOST=127.0.0.1 TINYBASE_MAIL_SMTP_PORT="$smtp_port" TINYBASE_MAIL_SMTP_TLS=none \
  TINYBASE_AUTH_MAIL_LIMIT_PER_EMAIL=0 TINYBASE_AUTH_MAIL_LIMIT_PER_IP=0
target/debug/blog serve --host 127.0.0.1 --port 0 > "$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" "$smtp" 2>/dev/null || true; rm -rf "$data"' EXIT
base=""
for _ in $(seq 300); do
  base="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$data/server.log" | head -1 | cut -d' ' -f3 || true)"
  [[ -n "$base" ]] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$base" ]]; then
  echo "error: the server did not start listening:" >&2
  cat "$data/server.log" >&2
  exit 1
fi
curl -fsS "$base/api/health" > /dev/null

token="$(curl -fsS -X POST "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"email": "fuzz-admin@example.com", "password": "fuzz-admin-password"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
# Collections to fuzz records against.
curl -fsS -X POST "$base/api/functions/install_blog" -H "authorization: Bearer $token" > /dev/null

checks="not_a_server_error,status_code_conformance,content_type_conformance"
checks="$checks,response_schema_conformance,response_headers_conformance"
checks="$checks,negative_data_rejection,missing_required_header,positive_data_acceptance"
run() {
  # Logging out would revoke the token the run depends on. The realtime stream never
  # ends, so every case would wait out the client's timeout: its own tests cover it
  # (tinybase/tests/realtime.rs, tests/tests/realtime_streams.rs).
  "$venv/bin/schemathesis" --config-file tests/fuzz/schemathesis.toml run "$base/openapi.json" --max-examples "$examples" \
    --checks "$checks" --exclude-path /api/auth/logout --exclude-path /api/realtime \
    --seed 20261126 "$@"
}
echo "== schemathesis as an admin"
run -H "Authorization: Bearer $token"
echo "== schemathesis without a token"
run
if grep -q "panicked" "$data/server.log"; then
  echo "the server logged a panic:" >&2
  grep -A5 "panicked" "$data/server.log" >&2
  exit 1
fi
