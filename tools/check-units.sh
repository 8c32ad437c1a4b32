#!/usr/bin/env bash
# Check every unit in systemd/: `systemd-analyze verify` must be silent and
# `systemd-analyze security --offline=yes` must stay at or under THRESHOLD (tenths of the 0-10 exposure).
# Fails on any warning or failure. Works as root in a container without a running systemd:
# the units name programs under /opt/gatekeeper that exist only on an installed gate, so each
# unit is checked as a temporary copy whose /opt/gatekeeper paths point at stub executables.
#   tools/check-units.sh [UNIT...]        (default: systemd/*.service etc.)
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd-analyze takes the threshold in tenths: 20 means an overall exposure of 2.0.
THRESHOLD=${THRESHOLD:-20}
PREFIX=/opt/gatekeeper/

if ! command -v systemd-analyze >/dev/null; then
  echo "check-units: systemd-analyze not found: install Debian's systemd package (./dev does)" >&2
  exit 1
fi

units=("$@")
if [ ${#units[@]} -eq 0 ]; then
  shopt -s nullglob
  units=(systemd/*.service systemd/*.socket systemd/*.timer systemd/*.path)
fi
if [ ${#units[@]} -eq 0 ]; then
  echo "check-units: no units in systemd/" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

for unit in "${units[@]}"; do
  name=$(basename "$unit")
  mkdir -p "$work/units"
  sed "s#$PREFIX#$work$PREFIX#g" "$unit" > "$work/units/$name"
  # A stub for each program the unit runs from /opt/gatekeeper.
  # (comment lines may name folders, such as the venv, that are not programs)
  grep -v '^[[:space:]]*#' "$work/units/$name" | grep -oE "$work$PREFIX[^ ]+" | sort -u | while read -r exe; do
    mkdir -p "$(dirname "$exe")"
    printf '#!/bin/sh\nexit 0\n' > "$exe"
    chmod +x "$exe"
  done

  # verify: exit status and any output at all (unknown keys are warnings with status 0).
  if ! out=$(cd "$work/units" && systemd-analyze verify --man=no "$name" 2>&1) || [ -n "$out" ]; then
    echo "check-units: $unit: systemd-analyze verify:" >&2
    echo "${out//$work/}" >&2
    status=1
  else
    echo "check-units: $unit: verify OK"
  fi

  # security: the overall exposure must not exceed THRESHOLD.
  if out=$(cd "$work/units" && systemd-analyze security --offline=yes --threshold="$THRESHOLD" \
             --no-pager "$name" 2>&1); then
    echo "check-units: $unit: security $(grep -o 'Overall exposure level.*' <<<"$out") (threshold $THRESHOLD tenths)"
  else
    echo "check-units: $unit: systemd-analyze security over threshold $THRESHOLD or failed:" >&2
    grep -E '✗|Overall|rror|arning' <<<"$out" >&2 || echo "$out" >&2
    status=1
  fi
done
exit $status
