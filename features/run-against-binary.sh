#!/usr/bin/env bash
# Builds the emulator and the conformance command, starts the emulator as a
# separate process on a free port, and runs every scenario against it over
# real HTTP (the out-of-process path of the kit). Extra arguments go to
# "conformance api", e.g. --format junit:report.xml; --profile NAME (or
# --profile=NAME) also starts the emulator under that limits profile
# (default, current, unlimited), and conformance checks that it runs it:
#
#   features/run-against-binary.sh --profile current --format progress
set -euo pipefail
cd "$(dirname "$0")/.."

profile=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case "${args[i]}" in
	--profile | -profile)
		if ((i + 1 >= ${#args[@]})); then
			echo "run-against-binary.sh: --profile needs a name" >&2
			exit 2
		fi
		profile=${args[i + 1]}
		;;
	--profile=* | -profile=*) profile=${args[i]#*=} ;;
	esac
done
emulator_flags=(--addr 127.0.0.1:0 --clock manual --strict-responses)
if [[ -n "$profile" ]]; then
	emulator_flags+=(--profile "$profile")
fi

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

"$work/emulator" "${emulator_flags[@]}" >"$work/emulator.out" 2>"$work/emulator.err" &
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

echo "== conformance api --target $url${profile:+ (limits profile $profile)}"
"$work/conformance" api --target "$url" --format progress "$@"
