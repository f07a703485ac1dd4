#!/usr/bin/env bash
# `make deploy-local`: deploy our CDK app with the real CDK CLI into a local
# emulated AWS (moto + mnp_local's adapters on 127.0.0.1) in the config's own account and Region, run
# the sample job (rendezvous + ring all-reduce on every node), optionally a second one whose child node
# fails (--fault: the deployed watchdog ends it), list what was made, and clean up. No AWS account, no
# Docker. See docs/local-deploy.md.
#   scripts/deploy_local.sh [--config config/default.yaml] [--fault [NODE]] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
PYTHON=.venv/bin/python
if [[ ! -x "$PYTHON" ]]; then
  echo "error: $PYTHON not found: run 'make setup' first" >&2
  exit 2
fi
exec "$PYTHON" -m mnp_local deploy "$@"
