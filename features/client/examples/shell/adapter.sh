#!/usr/bin/env bash
# adapter.sh: a worked, correct live response client in bash (curl + jq),
# written to be read as documentation of the adapter protocol
# (features/client/README.md) and of what a well-behaved client of the
# Microsoft Defender for Endpoint live response API does.
#
# It implements three of the kit's six operations and says so in the
# manifest next to it (manifest.json):
#
#   adapter.sh run-script MACHINE SCRIPT [ARGS]   run a library script, print its output
#   adapter.sh get-file   MACHINE PATH DEST       collect a file, write its bytes to DEST
#   adapter.sh cancel     ACTION_ID               cancel a machine action
#
# Grade it with:
#   conformance client --manifest features/client/examples/shell/manifest.json \
#       -- features/client/examples/shell/adapter.sh
#
# Everything it needs comes from the environment the kit sets: MDE_API_URL,
# MDE_TOKEN_URL, MDE_CLIENT_ID, MDE_CLIENT_SECRET, MDE_SCOPE (and
# MDE_SCRATCH_DIR, its working directory).
#
# What makes it correct (each rule is implemented in one place below):
#   - one token per run, kept in a variable until shortly before it expires;
#     a 401 from /api fetches a new token once and retries the call once;
#   - 429: sleep Retry-After + 1 s and retry (at most 10 times per call);
#   - 5xx and network errors (curl cannot connect, the connection is reset,
#     a timeout): retry after 1, 2, 4, 8, 15 s (at most 6 tries), then fail
#     naming the status; a 400 or 403 is never retried blindly;
#   - submit: 400 ActiveRequestAlreadyExists (another action runs on the
#     machine): wait 10 s and retry, at most 3 times, then report the code;
#   - after the 201, a 404 on the action within 30 s of the submit is the
#     service catching up (eventual consistency): retry it every 2 s;
#   - poll every 2 s until Succeeded, Failed, Cancelled or TimeOut, and stop
#     polling at the first response that shows one of them; never resubmit;
#   - Failed: print every failed command's errors and exit 1; TimeOut:
#     "timed out", exit 1; Cancelled: say so, exit 1;
#   - results: ask for a download link, fetch it WITHOUT the token; a 403
#     from the blob means the link expired: fetch a new link (at most 3
#     times); a GetFile result is gzip, so gunzip it to DEST;
#   - run-script: print script_output; a non-zero exit_code is a failure:
#     "exit code N" and script_errors on stderr, exit 1.
#
# Exit codes: 0 success, 1 the operation did not succeed (the reason is on
# stderr), 2 usage error or an operation this client does not implement.

set -u
set -o pipefail

PROG="shell-example"

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

log()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
die()  { log "$*"; exit 1; }
now()  { date +%s; }

for v in MDE_API_URL MDE_TOKEN_URL MDE_CLIENT_ID MDE_CLIENT_SECRET MDE_SCOPE; do
    [ -n "${!v:-}" ] || { log "environment variable $v is not set"; exit 2; }
done
API="${MDE_API_URL%/}/api"

# Every response lands in these files; request() fills them and sets
# RESP_STATUS (the HTTP status, or 000 when there was no response).
WORK=$(mktemp -d "${MDE_SCRATCH_DIR:-${TMPDIR:-/tmp}}/.adapter.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$WORK"' EXIT
BODY="$WORK/body"
HEADERS="$WORK/headers"
RESP_STATUS=000

# The error code and message of an API error body {"error":{"code","message"}}.
error_code()    { jq -r '.error.code // empty' "$BODY" 2>/dev/null; }
error_message() { jq -r '.error.message // empty' "$BODY" 2>/dev/null; }
# A one-line description of the last response, for failure messages.
describe() {
    local code msg
    code=$(error_code); msg=$(error_message)
    if [ -n "$code" ]; then printf 'HTTP %s %s: %s' "$RESP_STATUS" "$code" "$msg"
    else printf 'HTTP %s: %s' "$RESP_STATUS" "$(head -c 300 "$BODY" 2>/dev/null | tr '\n' ' ')"
    fi
}

# ---------------------------------------------------------------------------
# The token: client credentials, fetched once per run
# ---------------------------------------------------------------------------
# Kept in shell variables (request() is never called in a $( ) subshell, so
# the variables survive from one call to the next). Refreshed only when it
# is about to expire (margin: min(5 min, half its lifetime)) or after a 401.

TOKEN=""
TOKEN_REFRESH_AT=0

fetch_token() {
    # The token endpoint gets the same retries as any call (429, 5xx,
    # network errors) but no Authorization header, and a 4xx is final: wrong
    # credentials do not get better by asking again.
    request none POST "$MDE_TOKEN_URL" \
        --data-urlencode grant_type=client_credentials \
        --data-urlencode "client_id=$MDE_CLIENT_ID" \
        --data-urlencode "client_secret=$MDE_CLIENT_SECRET" \
        --data-urlencode "scope=$MDE_SCOPE" \
        || die "cannot get a token: $(describe)"
    if [ "$RESP_STATUS" != 200 ]; then
        die "cannot get a token: HTTP $RESP_STATUS $(jq -r '.error_description // .error // empty' "$BODY" 2>/dev/null)"
    fi
    TOKEN=$(jq -r '.access_token // empty' "$BODY")
    [ -n "$TOKEN" ] || die "the token endpoint answered without an access_token"
    local lifetime margin
    lifetime=$(jq -r '(.expires_in // 3599) | tonumber | floor' "$BODY")
    margin=$(( lifetime / 2 < 300 ? lifetime / 2 : 300 ))
    TOKEN_REFRESH_AT=$(( $(now) + lifetime - margin ))
}

ensure_token() {
    if [ -z "$TOKEN" ] || [ "$(now)" -ge "$TOKEN_REFRESH_AT" ]; then
        fetch_token
    fi
}

# ---------------------------------------------------------------------------
# request AUTH METHOD URL [CURL ARGS...]: one HTTP call with every retry
# ---------------------------------------------------------------------------
# AUTH is "api" (send the bearer token) or "none" (token endpoint, blobs).
# Returns 0 with RESP_STATUS, $BODY and $HEADERS set for any HTTP answer the
# caller has to judge (2xx, 400, 403, 404, ...); returns 1 when it gave up
# (too many 429s, 5xx or network errors, or a second 401 in a row).

MAX_TRANSIENT_TRIES=6      # first try + 5 retries for 5xx / network errors
MAX_THROTTLED_RETRIES=10   # 429s honoured per call
BACKOFF=(1 2 4 8 15)       # seconds before retry 1, 2, 3, ... (capped at 15)

# curl exit codes that mean "no (complete) response, try again": could not
# resolve/connect (6, 7), partial transfer (18), timeout (28), TLS connect
# (35), empty reply (52), send/receive failure, i.e. connection reset (55, 56).
is_transient_curl_error() {
    case "$1" in 6|7|18|28|35|52|55|56) return 0 ;; *) return 1 ;; esac
}

# The Retry-After header of the last response in whole seconds (the API
# sends whole seconds; anything else, such as an HTTP date, counts as 5 s).
retry_after() {
    local v
    v=$(tr -d '\r' < "$HEADERS" | awk 'tolower($1) == "retry-after:" { v = $2 } END { print v }')
    case "$v" in ''|*[!0-9]*) echo 5 ;; *) echo "$v" ;; esac
}

request() {
    local auth=$1 method=$2 url=$3; shift 3
    local transient=0 throttled=0 refreshed=0 rc delay
    # For messages: the URL without its query, which for a blob link is a
    # SAS signature that must not end up in logs.
    local shown="${url%%\?*}"
    while :; do
        local auth_header=()
        if [ "$auth" = api ]; then
            ensure_token
            auth_header=(-H "Authorization: Bearer $TOKEN")
        fi
        # -g: no URL globbing (the link call has parentheses in its path);
        # -o/-D: body and headers to files; -w: the status on stdout.
        RESP_STATUS=$(curl -sS -g -X "$method" ${auth_header[@]+"${auth_header[@]}"} \
            --connect-timeout 10 --max-time 120 \
            -o "$BODY" -D "$HEADERS" -w '%{http_code}' "$@" "$url" 2>"$WORK/curl.err")
        rc=$?

        if [ $rc -ne 0 ]; then
            # No usable response at all.
            RESP_STATUS=000
            : > "$BODY"
            if ! is_transient_curl_error $rc; then
                log "$method $shown: $(cat "$WORK/curl.err")"
                return 1
            fi
            transient=$((transient + 1))
            if [ $transient -ge $MAX_TRANSIENT_TRIES ]; then
                log "$method $shown: giving up after $transient tries: network error (curl exit $rc: $(cat "$WORK/curl.err"))"
                return 1
            fi
            delay=${BACKOFF[$((transient - 1))]:-15}
            log "$method $shown: network error (curl exit $rc), retrying in ${delay}s"
            sleep "$delay"
            continue
        fi

        case "$RESP_STATUS" in
            429)
                # Throttled: the service says when to come back. Wait that
                # long plus a margin of one second, then try again.
                throttled=$((throttled + 1))
                if [ $throttled -gt $MAX_THROTTLED_RETRIES ]; then
                    log "$method $shown: still throttled after $MAX_THROTTLED_RETRIES retries: $(describe)"
                    return 1
                fi
                delay=$(( $(retry_after) + 1 ))
                log "$method $shown: HTTP 429, Retry-After honoured: retrying in ${delay}s"
                sleep "$delay"
                ;;
            5??)
                transient=$((transient + 1))
                if [ $transient -ge $MAX_TRANSIENT_TRIES ]; then
                    log "$method $shown: giving up after $transient tries: $(describe)"
                    return 1
                fi
                delay=${BACKOFF[$((transient - 1))]:-15}
                log "$method $shown: HTTP $RESP_STATUS, retrying in ${delay}s"
                sleep "$delay"
                ;;
            401)
                # The token was refused (expired, revoked): fetch a new one
                # and retry the call, once. A second 401 is the caller's.
                if [ "$auth" = api ] && [ $refreshed -eq 0 ]; then
                    refreshed=1
                    log "$method $shown: HTTP 401, fetching a new token"
                    TOKEN=""
                    continue
                fi
                return 0
                ;;
            *)
                return 0
                ;;
        esac
    done
}

# ---------------------------------------------------------------------------
# The live response round trip: submit, poll, download
# ---------------------------------------------------------------------------

ACTION_ID=""
ACTION_FILE="$WORK/action.json"   # the last MachineAction seen

# submit MACHINE COMMANDS_JSON: POST runliveresponse; sets ACTION_ID.
submit() {
    local machine=$1 commands=$2 body attempt
    machine=$(jq -rn --arg v "$machine" '$v | @uri')
    body=$(jq -cn --argjson c "$commands" '{Commands: $c, Comment: "shell-example adapter"}')
    for attempt in 0 1 2 3; do
        request api POST "$API/machines/$machine/runliveresponse" \
            -H 'Content-Type: application/json' --data-binary "$body" \
            || die "submit failed: $(describe)"
        SUBMITTED_AT=$(now)
        if [ "$RESP_STATUS" = 201 ]; then
            ACTION_ID=$(jq -r '.id' "$BODY")
            cp "$BODY" "$ACTION_FILE"
            log "action $ACTION_ID submitted"
            return 0
        fi
        # Another live response session is active on the machine. It will
        # end; wait and try again a few times before reporting it.
        if [ "$RESP_STATUS" = 400 ] && [ "$(error_code)" = ActiveRequestAlreadyExists ] && [ $attempt -lt 3 ]; then
            log "ActiveRequestAlreadyExists: another action is active on the machine, retrying in 10s"
            sleep 10
            continue
        fi
        die "submit refused: $(describe)"
    done
}

# wait_final: poll GET /api/machineactions/{id} every 2 s until the action
# is final; leaves the final MachineAction in $ACTION_FILE and its status in
# ACTION_STATUS.
wait_final() {
    ACTION_STATUS=""
    while :; do
        request api GET "$API/machineactions/$ACTION_ID" \
            || die "polling action $ACTION_ID failed: $(describe)"
        case "$RESP_STATUS" in
            200)
                cp "$BODY" "$ACTION_FILE"
                ACTION_STATUS=$(jq -r '.status' "$ACTION_FILE")
                case "$ACTION_STATUS" in
                    Succeeded|Failed|Cancelled|TimeOut) return 0 ;;   # final: stop polling
                esac
                ;;
            404)
                # Right after the 201 the action may not be readable yet.
                if [ $(( $(now) - SUBMITTED_AT )) -gt 30 ]; then
                    die "action $ACTION_ID not found: $(describe)"
                fi
                ;;
            *)
                die "polling action $ACTION_ID failed: $(describe)"
                ;;
        esac
        sleep 2
    done
}

# require_succeeded: turn a final status other than Succeeded into a
# message the user can act on, and exit 1.
require_succeeded() {
    case "$ACTION_STATUS" in
        Succeeded) return 0 ;;
        Failed)
            log "action $ACTION_ID Failed"
            # Each failed command's own error text (e.g. "Script failed: ...").
            jq -r '.commands[] | select(.commandStatus == "Failed")
                   | "command \(.index) (\(.command.type)) failed: \((.errors // []) | join("; "))"' \
                "$ACTION_FILE" >&2
            exit 1 ;;
        TimeOut)
            log "action $ACTION_ID timed out (status TimeOut)"
            jq -r '.commands[] | select(.commandStatus == "Failed")
                   | "command \(.index) (\(.command.type)): \((.errors // []) | join("; "))"' \
                "$ACTION_FILE" >&2
            exit 1 ;;
        Cancelled)
            die "action $ACTION_ID was cancelled" ;;
        *)
            die "action $ACTION_ID ended with unexpected status $ACTION_STATUS" ;;
    esac
}

# download INDEX OUT: fetch the result of command INDEX into the file OUT.
download() {
    local index=$1 out=$2 link links=0
    while :; do
        request api GET "$API/machineactions/$ACTION_ID/GetLiveResponseResultDownloadLink(index=$index)" \
            || die "cannot get the download link: $(describe)"
        [ "$RESP_STATUS" = 200 ] || die "cannot get the download link: $(describe)"
        link=$(jq -r '.value // empty' "$BODY")
        [ -n "$link" ] || die "the download link response has no value"
        links=$((links + 1))

        # The link is a SAS URL: fetched WITHOUT the Authorization header.
        request none GET "$link" || die "cannot download the result: $(describe)"
        case "$RESP_STATUS" in
            200) cp "$BODY" "$out"; return 0 ;;
            403)
                # The link expired (Azure answers 403 AuthenticationFailed).
                # Retrying the same URL cannot help: mint a new one.
                if [ $links -le 3 ]; then
                    log "download link refused (HTTP 403, expired?), fetching a new link"
                    continue
                fi
                die "cannot download the result: HTTP 403 after $links links" ;;
            *)
                die "cannot download the result: HTTP $RESP_STATUS" ;;
        esac
    done
}

# ---------------------------------------------------------------------------
# The operations
# ---------------------------------------------------------------------------

op_run_script() {
    [ $# -ge 2 ] && [ $# -le 3 ] || { log "usage: run-script MACHINE SCRIPT [ARGS]"; exit 2; }
    local machine=$1 script=$2 commands
    if [ $# -eq 3 ]; then
        commands=$(jq -cn --arg s "$script" --arg a "$3" \
            '[{type: "RunScript", params: [{key: "ScriptName", value: $s}, {key: "Args", value: $a}]}]')
    else
        commands=$(jq -cn --arg s "$script" '[{type: "RunScript", params: [{key: "ScriptName", value: $s}]}]')
    fi
    submit "$machine" "$commands"
    wait_final
    require_succeeded

    # The result: {"script_name","exit_code","script_output","script_errors"}.
    download 0 "$WORK/result.json"
    jq -j '.script_output // ""' "$WORK/result.json" \
        || die "the script result is not JSON"
    local code
    code=$(jq -r '.exit_code // 0' "$WORK/result.json")
    if [ "$code" != 0 ]; then
        log "script $script exited with exit code $code"
        local errs
        errs=$(jq -r '.script_errors // ""' "$WORK/result.json")
        [ -z "$errs" ] || log "script errors: $errs"
        exit 1
    fi
}

op_get_file() {
    [ $# -eq 3 ] || { log "usage: get-file MACHINE PATH DEST"; exit 2; }
    local machine=$1 path=$2 dest=$3
    submit "$machine" "$(jq -cn --arg p "$path" '[{type: "GetFile", params: [{key: "Path", value: $p}]}]')"
    wait_final
    require_succeeded
    # The blob is the file's bytes, gzipped.
    download 0 "$WORK/file.gz"
    gunzip -c "$WORK/file.gz" > "$dest" || die "the collected file is not valid gzip"
    log "wrote $path to $dest"
}

op_cancel() {
    [ $# -eq 1 ] || { log "usage: cancel ACTION_ID"; exit 2; }
    local id
    id=$(jq -rn --arg v "$1" '$v | @uri')
    request api POST "$API/machineactions/$id/cancel" \
        -H 'Content-Type: application/json' --data-binary '{"Comment":"Cancelled by shell-example adapter"}' \
        || die "cancel failed: $(describe)"
    [ "$RESP_STATUS" = 200 ] || die "cancel refused: $(describe)"
    log "action $1 cancellation accepted (status $(jq -r '.status' "$BODY"))"
}

op=${1:-}
[ $# -gt 0 ] && shift
case "$op" in
    run-script) op_run_script "$@" ;;
    get-file)   op_get_file "$@" ;;
    cancel)     op_cancel "$@" ;;
    put-file|upload|live-response)
        log "operation $op is not implemented by this example (see manifest.json)"; exit 2 ;;
    *)
        log "usage: adapter.sh run-script|get-file|cancel OPERANDS..."; exit 2 ;;
esac
