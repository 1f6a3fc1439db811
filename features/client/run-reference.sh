#!/usr/bin/env bash
# Builds the conformance command and the reference client's adapter
# (cmd/lrclient) and grades the client with every client scenario (its
# manifest, cmd/lrclient/manifest.json, declares the user sign-in): the
# out-of-process path of the client kit, as a user runs it. Extra arguments
# go to "conformance client", e.g. --format junit:client.xml.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/conformance" ./cmd/conformance
go build -o "$work/lrclient" ./cmd/lrclient
"$work/conformance" client --manifest cmd/lrclient/manifest.json "$@" -- "$work/lrclient"
