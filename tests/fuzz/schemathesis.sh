#!/usr/bin/env bash
# OpenAPI-driven fuzzing: schemathesis generates requests for every operation in the live
# /openapi.json of the blog example and checks that nothing answers 5xx, that statuses,
# content types, headers and bodies match the document (errors included), that invalid
# requests are refused and that protected operations demand a token. It runs once as an
# admin and once without a token.
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
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export TINYBASE_DB_URL="$data/fuzz.db" TINYBASE_LOG_LEVEL=warn \
  TINYBASE_AUTH_LOGIN_LIMIT_PER_IP=0 TINYBASE_AUTH_LOGIN_LIMIT_PER_EMAIL=0 \
  TINYBASE_AUTH_REGISTRATION_LIMIT_PER_IP=0 \
  TINYBASE_ADMIN_EMAIL=fuzz-admin@example.com TINYBASE_ADMIN_PASSWORD=fuzz-admin-password
target/debug/blog serve --port "$port" > "$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -fsS "$base/api/health" > /dev/null 2>&1 && break
  sleep 0.1
done

token="$(curl -fsS -X POST "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"email": "fuzz-admin@example.com", "password": "fuzz-admin-password"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
# Collections to fuzz records against.
curl -fsS -X POST "$base/api/functions/install_blog" -H "authorization: Bearer $token" > /dev/null

checks="not_a_server_error,status_code_conformance,content_type_conformance"
checks="$checks,response_schema_conformance,response_headers_conformance"
checks="$checks,negative_data_rejection,missing_required_header"
run() {
  # Logging out would revoke the token the run depends on.
  "$venv/bin/schemathesis" run "$base/openapi.json" --max-examples "$examples" \
    --checks "$checks" --exclude-path /api/auth/logout --seed 20261126 "$@"
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
