#!/usr/bin/env bash
# naive.sh: a deliberately NAIVE live response client (curl + jq) for the
# adapter protocol of features/client/README.md, all six operations.
# Kept to prove that the kit can fail a client; do not copy.
# (The correct shell client is ../shell/adapter.sh.)
#
# Its happy paths work. Its deliberate flaws, and nothing else:
#   1. no retries at all, on any error (429, 5xx, dropped connection, 401,
#      404 right after the submit, 400 ActiveRequestAlreadyExists, 403 blob);
#   2. ignores Retry-After;
#   3. polls every 0.1 s (reading the status without jq, so that a loaded
#      machine, where jq and curl start slowly, does not make its pace
#      look sensible);
#   4. polls until the status is "Succeeded" or "Failed" only, so an action
#      that ends Cancelled or TimeOut makes it poll forever;
#   5. exits 0 even when things fail: a non-201 submit or any other
#      unexpected HTTP status prints the body and exits 0; a Failed action is
#      printed and exits 0; a script's non-zero exit code is ignored
#      (its output is printed, exit 0).
# It fetches one token at the start and reuses it (that part is fine).

API="$MDE_API_URL/api"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
TOKEN=$(curl -s "$MDE_TOKEN_URL" -d grant_type=client_credentials \
  --data-urlencode "client_id=$MDE_CLIENT_ID" --data-urlencode "client_secret=$MDE_CLIENT_SECRET" \
  --data-urlencode "scope=$MDE_SCOPE" | jq -r .access_token)

# call EXPECTED METHOD URL [CURL ARGS]: the body in $TMP/out; any other
# status than EXPECTED prints the body and exits 0 (flaws 1, 2 and 5).
call() {
  local want=$1 method=$2 url=$3; shift 3
  rm -f "$TMP/out"
  code=$(curl -s -g -X "$method" -H "Authorization: Bearer $TOKEN" -o "$TMP/out" -w '%{http_code}' "$@" "$url")
  if [ "$code" != "$want" ]; then echo "HTTP $code"; cat "$TMP/out" 2>/dev/null; echo; exit 0; fi
}

# run MACHINE COMMANDS_JSON: submit and poll until Succeeded or Failed.
run() {
  call 201 POST "$API/machines/$1/runliveresponse" -H 'Content-Type: application/json' \
    --data-binary "$(jq -cn --argjson c "$2" '{Commands: $c, Comment: "naive.sh"}')"
  ID=$(jq -r .id "$TMP/out")
  while :; do
    sleep 0.1                                             # flaw 3
    call 200 GET "$API/machineactions/$ID"
    [[ $(<"$TMP/out") =~ \"status\":\"([A-Za-z]+)\" ]] && STATUS=${BASH_REMATCH[1]}
    [ "$STATUS" = Succeeded ] || [ "$STATUS" = Failed ] && break   # flaw 4
  done
  cp "$TMP/out" "$TMP/action"
}

# failed_exit_0: a Failed action is printed, and the script exits 0 (flaw 5).
failed_exit_0() {
  [ "$STATUS" = Failed ] || return 0
  echo "action $ID Failed"; jq -r '.commands[].errors[]' "$TMP/action"; exit 0
}

# fetch INDEX: the result of command INDEX into $TMP/blob (no token on the blob).
fetch() {
  call 200 GET "$API/machineactions/$ID/GetLiveResponseResultDownloadLink(index=$1)"
  code=$(curl -s -g -o "$TMP/blob" -w '%{http_code}' "$(jq -r .value "$TMP/out")")
  if [ "$code" != 200 ]; then echo "HTTP $code"; cat "$TMP/blob" 2>/dev/null; echo; exit 0; fi
}

op=$1; shift
case "$op" in
  run-script)
    if [ $# -ge 3 ]; then
      cmds=$(jq -cn --arg s "$2" --arg a "$3" '[{type:"RunScript",params:[{key:"ScriptName",value:$s},{key:"Args",value:$a}]}]')
    else
      cmds=$(jq -cn --arg s "$2" '[{type:"RunScript",params:[{key:"ScriptName",value:$s}]}]')
    fi
    run "$1" "$cmds"; failed_exit_0
    fetch 0; jq -j .script_output "$TMP/blob" ;;           # exit_code ignored (flaw 5)
  get-file)
    run "$1" "$(jq -cn --arg p "$2" '[{type:"GetFile",params:[{key:"Path",value:$p}]}]')"; failed_exit_0
    fetch 0; gunzip -c "$TMP/blob" > "$3" ;;
  put-file)
    run "$1" "$(jq -cn --arg f "$2" '[{type:"PutFile",params:[{key:"FileName",value:$f}]}]')"; failed_exit_0
    echo "put $2 on $1" ;;
  upload)
    call 200 POST "$API/libraryfiles" -F "file=@$1" -F "Description=uploaded by naive.sh" -F OverrideIfExists=true
    echo "uploaded $(jq -r .fileName "$TMP/out")" ;;
  cancel)
    call 200 POST "$API/machineactions/$1/cancel" -H 'Content-Type: application/json' --data-binary '{"Comment":"naive.sh"}'
    echo "cancelled $1" ;;
  live-response)
    run "$1" "$(cat)"
    jq '{actionId: .id, status: .status, commands: [.commands[] |
        {index: .index, type: .command.type, status: .commandStatus, errors: .errors}]}' "$TMP/action" ;;
  *) echo "usage: naive.sh run-script|get-file|put-file|upload|cancel|live-response ..." >&2; exit 2 ;;
esac
