#!/bin/sh
# Run a built application folder the way a workstation would: an empty environment (no Python,
# no virtual environment, only /usr/bin:/bin on the PATH), a fresh home folder, started from
# another working folder. Runs `crossid --version`, the bundle's own `crossid selftest` (its
# exit status is the verdict) and starts the window once (offscreen).
#   packaging/smoke_test.sh dist/CrossID-Desktop [RECORD_DIR]
set -eu
bundle=$(cd "$1" && pwd)
home=$(mktemp -d "${TMPDIR:-/tmp}/crossid-smoke.XXXXXX")
trap 'rm -rf "$home"' EXIT
record=${2:-$home/selftest}
mkdir -p "$record" && record=$(cd "$record" && pwd)  # the commands run from /
run() { (cd / && env -i HOME="$home" PATH=/usr/bin:/bin "$@"); }

echo "== crossid --version"
run "$bundle/crossid" --version
echo "== crossid selftest --out $record"
run "$bundle/crossid" selftest --out "$record"
echo "== crossid-desktop --exit-when-shown (offscreen)"
run QT_QPA_PLATFORM=offscreen "$bundle/crossid-desktop" --exit-when-shown
echo "smoke test passed: $bundle"
