#!/usr/bin/env bash
# Install Graphviz's `dot` when it is missing (psa graph --svg draws with it). Debian, root.
# Idempotent: exits at once when dot is there. Progress and errors go to stderr.
set -euo pipefail
command -v dot >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "graphviz-up.sh: dot is missing; install Graphviz (apt-get install graphviz, brew install graphviz...)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "graphviz-up.sh: installing graphviz with apt-get" >&2
if ! timeout 600 apt-get install -y --no-install-recommends graphviz >/dev/null 2>&1; then
  timeout 600 apt-get update >/dev/null 2>&1
  timeout 600 apt-get install -y --no-install-recommends graphviz >/dev/null
fi
command -v dot >/dev/null 2>&1
