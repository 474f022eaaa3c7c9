#!/usr/bin/env bash
# The test suite runs against a throwaway PostgreSQL cluster; make sure its server binaries exist.
# Installs Debian's postgresql package when they are missing (needs root or sudo).
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    exit 0
fi
echo "PostgreSQL server binaries not found: installing Debian's postgresql package" >&2
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null; then
    SUDO="sudo"
else
    echo "Install the PostgreSQL server (Debian: apt-get install postgresql) and run again." >&2
    exit 1
fi
$SUDO apt-get update -qq
# The package starts no cluster we use; the tests run their own as an unprivileged user.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
