#!/usr/bin/env bash
# Builds the emulator and the conformance command, starts the emulator as a
# separate process on a free port, and runs every scenario against it over
# real HTTP (the out-of-process path of the kit). Extra arguments go to
# "conformance api", e.g. --format junit:report.xml.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
emulator_pid=""
cleanup() {
	if [[ -n "$emulator_pid" ]]; then
		kill "$emulator_pid" 2>/dev/null || true
		wait "$emulator_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/emulator" ./cmd/emulator
go build -o "$work/conformance" ./cmd/conformance

"$work/emulator" --addr 127.0.0.1:0 --clock manual --strict-responses >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!

url=""
for _ in $(seq 1 100); do
	url=$(sed -n 's/^MDE live response emulator listening on \(http:[^ ]*\).*/\1/p' "$work/emulator.out" 2>/dev/null | head -n 1)
	[[ -n "$url" ]] && break
	if ! kill -0 "$emulator_pid" 2>/dev/null; then
		echo "the emulator exited:" >&2
		cat "$work/emulator.err" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z "$url" ]]; then
	echo "the emulator did not start within 10 s" >&2
	cat "$work/emulator.err" >&2
	exit 1
fi

echo "== conformance api --target $url"
"$work/conformance" api --target "$url" --format progress "$@"
