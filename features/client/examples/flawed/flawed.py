#!/usr/bin/env python3
"""flawed.py: a second flawed live response client, in Python (standard
library only), for the adapter protocol of features/client/README.md, with
all six operations.

Kept to prove that the kit can fail a client; do not copy.

It is competent except for these deliberate flaws, each marked "FLAW" in
the code:

  (a) it fetches a new token for every single API request;
  (b) it polls every 1.5 s;
  (c) a 429 from the submit is treated as a success: reading the action's
      "id" from the error body raises KeyError (an uncaught traceback,
      exit 1);
  (d) a 429 on a poll or on the download-link call (or on any other call but
      the submit) is retried at once, Retry-After ignored, up to 50 times;
  (e) an action that ends TimeOut is "retried": the same commands are
      submitted once more, and only then is the outcome reported;
  (f) a RunScript whose exit_code is not 0 is reported as a success: the
      output is printed and it exits 0;
  (g) a 403 from the blob download (an expired link) is retried on the SAME
      URL 3 times, then it fails: it never asks for a new link.

What it gets right: 5xx, connection errors, a 401 and a 404 on the action
right after the submit are retried up to 5 times 1 s apart, then it exits 1
naming the status; Failed prints each failed command's errors and exits 1;
Cancelled says so and exits 1; a busy machine (400
ActiveRequestAlreadyExists) is reported with its code, exit 1; blobs are
fetched without the token; a GetFile result is gunzipped to DEST.
"""

import gzip
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

API = os.environ["MDE_API_URL"].rstrip("/") + "/api"
RETRIES = 5          # retries of 5xx, network errors, 401 and 404-after-submit
RETRY_DELAY = 1.0    # seconds between those retries
POLL_INTERVAL = 1.5  # FLAW (b): polls every 1.5 s
MAX_429 = 50         # FLAW (d): immediate retries of a 429
FINAL = ("Succeeded", "Failed", "Cancelled", "TimeOut")


def log(msg):
    print(f"flawed.py: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(msg)
    sys.exit(1)


def describe(status, body):
    """A one-line description of a response, for messages."""
    if status == 0:
        return f"network error ({body.decode(errors='replace')})"
    try:
        err = json.loads(body)["error"]
        return f"HTTP {status} {err.get('code')}: {err.get('message')}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {body[:300].decode(errors='replace')}"


def exchange(method, url, body=None, headers=None):
    """One HTTP exchange: (status, body bytes); status 0 when there was no
    response (connection refused or reset, timeout)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        return 0, str(e).encode()


def transient(status):
    return status == 0 or status >= 500


def token():
    """A token by the client credentials grant. FLAW (a): called before
    every single API request; nothing is cached."""
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_id": os.environ["MDE_CLIENT_ID"],
        "client_secret": os.environ["MDE_CLIENT_SECRET"],
        "scope": os.environ["MDE_SCOPE"],
    }).encode()
    for attempt in range(RETRIES + 1):
        status, body = exchange("POST", os.environ["MDE_TOKEN_URL"], form,
                                {"Content-Type": "application/x-www-form-urlencoded"})
        if status == 200:
            return json.loads(body)["access_token"]
        if not transient(status) or attempt == RETRIES:
            fail(f"cannot get a token: {describe(status, body)}")
        time.sleep(RETRY_DELAY)


def api(method, path, body=None, content_type="application/json",
        retry_429=True, retry_404=False):
    """An /api call with the retries: (status, body bytes)."""
    retries = throttled = 0
    while True:
        headers = {"Authorization": "Bearer " + token()}  # FLAW (a)
        if body is not None:
            headers["Content-Type"] = content_type
        status, data = exchange(method, API + path, body, headers)
        if status == 429 and retry_429 and throttled < MAX_429:
            throttled += 1
            continue  # FLAW (d): at once, Retry-After ignored
        if (transient(status) or status == 401 or (status == 404 and retry_404)) and retries < RETRIES:
            retries += 1
            log(f"{method} {path}: {describe(status, data)}, retry {retries} of {RETRIES} in {RETRY_DELAY:g}s")
            time.sleep(RETRY_DELAY)
            continue
        return status, data


def submit(machine, commands):
    body = json.dumps({"Commands": commands, "Comment": "flawed.py"}).encode()
    status, data = api("POST", f"/machines/{urllib.parse.quote(machine, safe='')}/runliveresponse",
                       body, retry_429=False)
    if status == 400:
        if b"ActiveRequestAlreadyExists" in data:
            fail(f"machine {machine} is busy: ActiveRequestAlreadyExists ({describe(status, data)})")
        fail(f"submit refused: {describe(status, data)}")
    if status in (0, 401, 403, 404) or status >= 500:
        fail(f"submit failed: {describe(status, data)}")
    # FLAW (c): a 429 gets here too, as if it were the 201.
    action = json.loads(data)
    log(f"action {action['id']} submitted")
    return action["id"]


def wait(action_id):
    """Poll until the action is final; the last MachineAction."""
    while True:
        status, data = api("GET", f"/machineactions/{action_id}", retry_404=True)
        if status != 200:
            fail(f"polling action {action_id} failed: {describe(status, data)}")
        action = json.loads(data)
        if action["status"] in FINAL:
            return action
        time.sleep(POLL_INTERVAL)


def run(machine, commands):
    action = wait(submit(machine, commands))
    if action["status"] == "TimeOut":
        # FLAW (e): "retry" a timed-out action by submitting it again, once.
        log(f"action {action['id']} timed out, submitting it once more")
        action = wait(submit(machine, commands))
    return action


def require_succeeded(action):
    status = action["status"]
    if status == "Succeeded":
        return
    if status == "Failed":
        log(f"action {action['id']} Failed")
        for c in action["commands"]:
            if c["commandStatus"] == "Failed":
                log(f"command {c['index']} ({c['command']['type']}) failed: {'; '.join(c.get('errors') or [])}")
        sys.exit(1)
    if status == "TimeOut":
        fail(f"action {action['id']} timed out (TimeOut)")
    if status == "Cancelled":
        fail(f"action {action['id']} was cancelled")
    fail(f"action {action['id']} ended {status}")


def download(action_id, index):
    status, data = api("GET", f"/machineactions/{action_id}/GetLiveResponseResultDownloadLink(index={index})")
    if status != 200:
        fail(f"cannot get the download link: {describe(status, data)}")
    url = json.loads(data)["value"]
    forbidden = retries = 0
    while True:
        status, blob = exchange("GET", url)  # a SAS link: no token
        if status == 200:
            return blob
        if status == 403 and forbidden < 3:
            forbidden += 1
            log(f"download refused (HTTP 403), retrying the same link ({forbidden} of 3)")
            time.sleep(RETRY_DELAY)
            continue  # FLAW (g): the same URL again, never a new link
        if transient(status) and retries < RETRIES:
            retries += 1
            time.sleep(RETRY_DELAY)
            continue
        fail(f"cannot download the result: {describe(status, blob)}")


def op_run_script(machine, script, args=None):
    params = [{"key": "ScriptName", "value": script}]
    if args is not None:
        params.append({"key": "Args", "value": args})
    action = run(machine, [{"type": "RunScript", "params": params}])
    require_succeeded(action)
    result = json.loads(download(action["id"], 0))
    sys.stdout.write(result.get("script_output") or "")
    # FLAW (f): result["exit_code"] is never looked at; exit 0.


def op_get_file(machine, path, dest):
    action = run(machine, [{"type": "GetFile", "params": [{"key": "Path", "value": path}]}])
    require_succeeded(action)
    data = gzip.decompress(download(action["id"], 0))
    with open(dest, "wb") as f:
        f.write(data)
    log(f"wrote {path} to {dest}")


def op_put_file(machine, library_file):
    action = run(machine, [{"type": "PutFile", "params": [{"key": "FileName", "value": library_file}]}])
    require_succeeded(action)
    log(f"put {library_file} on {machine}")


def op_upload(local_file):
    name = os.path.basename(local_file)
    with open(local_file, "rb") as f:
        content = f.read()
    boundary = uuid.uuid4().hex
    parts = []
    for field, value in (("Description", "uploaded by flawed.py"), ("OverrideIfExists", "true")):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    status, data = api("POST", "/libraryfiles", b"".join(parts),
                       content_type=f"multipart/form-data; boundary={boundary}")
    if status != 200:
        fail(f"upload failed: {describe(status, data)}")
    log(f"uploaded {name}")


def op_cancel(action_id):
    body = json.dumps({"Comment": "Cancelled by flawed.py"}).encode()
    status, data = api("POST", f"/machineactions/{urllib.parse.quote(action_id, safe='')}/cancel", body)
    if status != 200:
        fail(f"cancel failed: {describe(status, data)}")
    log(f"action {action_id} cancellation accepted")


def op_live_response(machine):
    commands = json.load(sys.stdin)
    action = run(machine, commands)
    summary = {
        "actionId": action["id"],
        "status": action["status"],
        "commands": [{"index": c["index"], "type": c["command"]["type"],
                      "status": c["commandStatus"], "errors": c.get("errors") or []}
                     for c in action["commands"]],
    }
    print(json.dumps(summary, indent=2), flush=True)
    require_succeeded(action)


OPERATIONS = {
    "run-script": (op_run_script, 2, 3),
    "get-file": (op_get_file, 3, 3),
    "put-file": (op_put_file, 2, 2),
    "upload": (op_upload, 1, 1),
    "cancel": (op_cancel, 1, 1),
    "live-response": (op_live_response, 1, 1),
}


def main(argv):
    if not argv or argv[0] not in OPERATIONS:
        log("usage: flawed.py run-script|get-file|put-file|upload|cancel|live-response OPERANDS...")
        return 2
    fn, lo, hi = OPERATIONS[argv[0]]
    if not lo <= len(argv) - 1 <= hi:
        log(f"wrong number of operands for {argv[0]}")
        return 2
    fn(*argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
