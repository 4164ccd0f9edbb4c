#!/usr/bin/env bash
# What `make run` needs from the machine besides Python: Node.js and npm, which install GOV.UK
# Frontend and compile its styles. As root with apt, install what is missing; otherwise print
# exactly what to install and stop (`make test` does the same for its servers: system-deps.sh).
set -euo pipefail

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "make run needs Node.js and npm for the GOV.UK styles, and these are not installed: ${missing[*]}" >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
else
  echo "Install Node.js 18 or later with npm (https://nodejs.org/), then run make run again." >&2
fi
exit 1
