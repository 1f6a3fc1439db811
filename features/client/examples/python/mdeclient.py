#!/usr/bin/env python3
"""A small Microsoft Defender for Endpoint live response client.

Standard library only (Python 3.8+). Importable as a library::

    from mdeclient import LiveResponseClient
    client = LiveResponseClient.from_env()
    result = client.run_script("win-01.contoso.local", "Get-Processes.ps1")
    print(result.output)

and runnable as a command, which is also its adapter for the conformance
kit (features/client/README.md)::

    mdeclient.py [-v] [--poll-interval S] [--max-wait S] OPERATION OPERANDS...

    run-script MACHINE SCRIPT [ARGS]   run a library script, print its output
    get-file MACHINE PATH DEST         collect a file from a machine into DEST
    put-file MACHINE LIBRARY_FILE      put a library file on a machine
    upload LOCAL_FILE                  add or replace a file in the library
    cancel ACTION_ID                   cancel a machine action
    live-response MACHINE              run the JSON command list on stdin

Configuration comes from the environment: MDE_API_URL, MDE_TOKEN_URL (or
MDE_AUTHORITY + MDE_TENANT_ID), MDE_CLIENT_ID, MDE_CLIENT_SECRET, MDE_SCOPE.

How it behaves towards the service:

* One OAuth2 client-credentials token per process, reused until shortly
  before it expires; a 401 from the API drops it, and the call is repeated
  once with a fresh one.
* 429: wait what Retry-After says plus a small margin, then try again.
* 5xx and network errors: exponential backoff with jitter, a few times.
  A live response submission that may or may not have reached the service
  is looked up (by a tag in its comment) before it is sent again, so an
  action is never created twice.
* 400 ActiveRequestAlreadyExists: the machine is busy; wait and resubmit a
  few times.
* The action is polled every few seconds until it is final (Succeeded,
  Failed, Cancelled, TimeOut); a 404 right after the submission (the action
  is not visible everywhere yet) is retried for a short while.
* Result links are fetched without the token; a link the storage refuses
  (expired) is replaced by a new one.
"""

import gzip
import hashlib
import ipaddress
import json
import logging
import mimetypes
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import http.client
from email.utils import parsedate_to_datetime

__all__ = [
    "LiveResponseClient",
    "LiveResponseError",
    "ApiError",
    "ActionNotSuccessful",
    "ScriptResult",
    "FINAL_STATUSES",
]

log = logging.getLogger("mdeclient")

DEFAULT_SCOPE = "https://api.securitycenter.microsoft.com/.default"
FINAL_STATUSES = frozenset({"Succeeded", "Failed", "Cancelled", "TimeOut"})
USER_AGENT = "mdeclient-python/1.0"


# --------------------------------------------------------------------------
# Errors


class LiveResponseError(Exception):
    """Base class of every error this module raises."""


class ApiError(LiveResponseError):
    """The service (or the identity platform) answered with an error."""

    def __init__(self, method, url, status, code="", message="", retries=0):
        self.method = method
        self.url = url
        self.status = status
        self.code = code
        self.message = message
        self.retries = retries
        path = urllib.parse.urlsplit(url).path
        text = "%s %s: HTTP %s" % (method, path, status)
        if code:
            text += " %s" % code
        if message:
            text += ": %s" % message
        if retries:
            text += " (after %d retries)" % retries
        super().__init__(text)


class TransportError(LiveResponseError):
    """The service could not be reached, even after retrying."""


class ActionNotSuccessful(LiveResponseError):
    """A machine action ended Failed, Cancelled or TimeOut."""

    def __init__(self, action):
        self.action = action
        super().__init__(describe_unsuccessful(action))


class WaitLimitExceeded(LiveResponseError):
    """The client stopped waiting for an action that is not final yet."""

    def __init__(self, action, waited):
        self.action = action
        super().__init__(
            "gave up waiting for action %s after %.0f s; it is still %s "
            "(cancel it with: cancel %s)"
            % (action.get("id"), waited, action.get("status"), action.get("id"))
        )


def describe_unsuccessful(action):
    """Explain in words why an action did not succeed."""
    aid = action.get("id", "?")
    status = action.get("status")
    commands = action.get("commands") or []
    lines = []
    if status == "TimeOut":
        started = any(c.get("commandStatus") != "Created" for c in commands)
        if started:
            lines.append("live response action %s timed out (TimeOut)" % aid)
        else:
            lines.append(
                "live response action %s timed out (TimeOut) before the machine "
                "picked it up; is the machine offline?" % aid
            )
    elif status == "Cancelled":
        who = action.get("cancellationRequestor")
        lines.append(
            "live response action %s was cancelled%s"
            % (aid, " by %s" % who if who else "")
        )
    else:
        lines.append("live response action %s ended %s" % (aid, status))
    for cmd in commands:
        errors = [e for e in (cmd.get("errors") or []) if e]
        if cmd.get("commandStatus") == "Failed" or errors:
            ctype = (cmd.get("command") or {}).get("type", "?")
            detail = "; ".join(errors) if errors else "no error text"
            lines.append(
                "  command %s (%s) %s: %s"
                % (cmd.get("index"), ctype, cmd.get("commandStatus"), detail)
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Results


class ScriptResult:
    """The result of a RunScript command."""

    def __init__(self, action, doc):
        self.action = action
        self.script_name = doc.get("script_name")
        self.exit_code = doc.get("exit_code")
        self.output = doc.get("script_output") or ""
        self.errors = doc.get("script_errors") or ""

    @property
    def ok(self):
        return self.exit_code == 0

    def __repr__(self):
        return "ScriptResult(script_name=%r, exit_code=%r)" % (
            self.script_name,
            self.exit_code,
        )


class _Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError as exc:
            raise LiveResponseError("unexpected non-JSON answer: %s" % exc)


class _LinkRefused(Exception):
    """The result storage refused a download link (expired or invalid)."""


# --------------------------------------------------------------------------
# The client


class LiveResponseClient:
    """Runs live response actions through the Defender for Endpoint API."""

    #: seconds between two polls of a running action
    poll_interval = 3.0
    #: how long a 404 for a just-created action is taken as "not visible yet"
    not_found_grace = 30.0
    #: pause between two polls that answered 404
    not_found_pause = 1.5
    #: say so when an action is still Pending after this many seconds
    pending_notice = 60.0
    #: 429 answers tolerated per call
    max_throttled = 8
    #: retries per call after a 5xx or a network error
    max_transient = 6
    #: backoff of those retries: base * 2**n, capped, times 1.0-1.5 jitter
    backoff_base = 1.0
    backoff_cap = 12.0
    #: the longest Retry-After this client agrees to wait
    max_retry_after = 900.0
    #: a busy machine (ActiveRequestAlreadyExists): resubmissions and pause
    busy_retries = 3
    busy_pause = 12.0
    #: new download links tried when the storage refuses one
    link_renewals = 3
    #: per-request socket timeout
    timeout = 60.0

    def __init__(
        self,
        api_url,
        token_url,
        client_id,
        client_secret,
        scope=DEFAULT_SCOPE,
        poll_interval=None,
        max_wait=None,
    ):
        api_url = api_url.rstrip("/")
        if api_url.endswith("/api"):
            api_url = api_url[: -len("/api")]
        self.api_url = api_url
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope or DEFAULT_SCOPE
        if poll_interval is not None:
            # Faster than once a second only burns the rate limit.
            self.poll_interval = max(1.0, float(poll_interval))
        #: give up waiting for an action after this many seconds (None: wait
        #: until the service ends it, which it always does: 10 minutes for a
        #: script, 3 days for a machine that stays offline)
        self.max_wait = max_wait
        self._token = None
        self._token_refresh_at = 0.0
        self._direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._proxied = urllib.request.build_opener()

    @classmethod
    def from_env(cls, environ=None, **kwargs):
        env = os.environ if environ is None else environ

        def need(name):
            value = env.get(name)
            if not value:
                raise LiveResponseError("environment variable %s is not set" % name)
            return value

        token_url = env.get("MDE_TOKEN_URL")
        if not token_url:
            authority = env.get("MDE_AUTHORITY", "https://login.microsoftonline.com")
            token_url = "%s/%s/oauth2/v2.0/token" % (
                authority.rstrip("/"),
                urllib.parse.quote(need("MDE_TENANT_ID"), safe=""),
            )
        return cls(
            api_url=env.get("MDE_API_URL", "https://api.securitycenter.microsoft.com"),
            token_url=token_url,
            client_id=need("MDE_CLIENT_ID"),
            client_secret=need("MDE_CLIENT_SECRET"),
            scope=env.get("MDE_SCOPE") or DEFAULT_SCOPE,
            **kwargs
        )

    # ---------------------------------------------------------------- token

    def _access_token(self):
        if self._token and time.monotonic() < self._token_refresh_at:
            return self._token
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": self.scope,
            }
        ).encode("ascii")
        resp = self._request(
            "POST",
            self.token_url,
            body=form,
            content_type="application/x-www-form-urlencoded",
            auth=False,
        )
        doc = resp.json()
        token = doc.get("access_token")
        if not token:
            raise LiveResponseError("the token endpoint returned no access_token")
        lifetime = _token_lifetime(doc)
        # Renew a little before the end: a third of the lifetime for short
        # tokens, at most two minutes for the usual hour-long ones.
        margin = min(120.0, lifetime / 3.0)
        self._token = token
        self._token_refresh_at = time.monotonic() + lifetime - margin
        log.debug("new token, valid %.0f s", lifetime)
        return token

    # ----------------------------------------------------------------- HTTP

    def _open(self, req):
        host = urllib.parse.urlsplit(req.full_url).hostname or ""
        opener = self._direct if _is_loopback(host) else self._proxied
        return opener.open(req, timeout=self.timeout)

    def _send_once(self, method, url, body, headers):
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with self._open(req) as r:
                return _Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as err:
            try:
                payload = err.read()
            except (OSError, http.client.HTTPException):
                payload = b""
            finally:
                err.close()
            return _Response(err.code, err.headers, payload)

    def _request(
        self,
        method,
        url,
        body=None,
        content_type=None,
        auth=True,
        ok=(200, 201, 204),
        not_found_until=None,
        transient_retries=None,
        before_retry=None,
    ):
        """Send one request, retrying what is worth retrying.

        Returns the response for a status in ``ok``; raises ApiError for
        any other final answer and TransportError when the service cannot
        be reached. ``before_retry`` is called before a request that failed
        in a way that leaves its effect unknown (5xx, network error) is sent
        again; a non-None answer from it is returned instead.
        """
        if transient_retries is None:
            transient_retries = self.max_transient
        throttled = transient = 0
        reauthenticated = False
        while True:
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            if auth:
                headers["Authorization"] = "Bearer " + self._access_token()
            try:
                resp = self._send_once(method, url, body, headers)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", None) or exc
                transient += 1
                if transient > transient_retries:
                    raise TransportError(
                        "%s %s: %s (after %d retries)"
                        % (method, _short(url), reason, transient - 1)
                    )
                delay = self._backoff(transient)
                log.warning(
                    "%s %s: %s; retrying in %.1f s", method, _short(url), reason, delay
                )
                time.sleep(delay)
                if before_retry:
                    found = before_retry()
                    if found is not None:
                        return found
                continue

            status = resp.status
            if status in ok:
                return resp
            code, message = _error_of(resp)

            if status == 401 and auth and not reauthenticated:
                log.warning("%s %s: 401 %s; fetching a new token", method, _short(url), code)
                self._token = None
                reauthenticated = True
                continue

            if status == 429:
                throttled += 1
                wait = _retry_after(resp.headers)
                if wait is None:
                    wait = self._backoff(throttled) * 2
                if throttled > self.max_throttled or wait > self.max_retry_after:
                    raise ApiError(method, url, status, code, message, throttled - 1)
                delay = wait + 0.4 + random.uniform(0.0, 0.6)
                log.warning(
                    "%s %s: throttled (429 %s), Retry-After %s; waiting %.1f s",
                    method, _short(url), code, resp.headers.get("Retry-After"), delay,
                )
                time.sleep(delay)
                continue

            if status >= 500:
                transient += 1
                if transient > transient_retries:
                    raise ApiError(method, url, status, code, message, transient - 1)
                delay = self._backoff(transient)
                hinted = _retry_after(resp.headers)
                if hinted is not None and hinted <= self.max_retry_after:
                    delay = max(delay, hinted + 0.4)
                log.warning(
                    "%s %s: HTTP %d %s; retrying in %.1f s",
                    method, _short(url), status, code, delay,
                )
                time.sleep(delay)
                if before_retry:
                    found = before_retry()
                    if found is not None:
                        return found
                continue

            if (
                status == 404
                and not_found_until is not None
                and time.monotonic() + self.not_found_pause < not_found_until
            ):
                log.info("%s %s: not found yet; asking again", method, _short(url))
                time.sleep(self.not_found_pause)
                continue

            raise ApiError(method, url, status, code, message)

    def _backoff(self, attempt):
        base = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return base * random.uniform(1.0, 1.5)

    def _api(self, method, path, payload=None, **kwargs):
        body = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            kwargs.setdefault("content_type", "application/json")
        return self._request(method, self.api_url + path, body=body, **kwargs)

    # -------------------------------------------------------------- actions

    def submit(self, machine, commands, comment=None):
        """POST runliveresponse; returns the new action (status Pending).

        Never creates two actions: a submission whose fate is unknown is
        looked up by a tag in its comment before it is sent again.
        """
        tag = "[mdeclient:%s]" % uuid.uuid4().hex[:16]
        body = {
            "Commands": commands,
            "Comment": ("%s %s" % (comment, tag)) if comment else tag,
        }
        path = "/api/machines/%s/runliveresponse" % urllib.parse.quote(machine, safe="")
        uncertain = []

        def find_previous():
            uncertain.append(True)
            return self._find_action_by_tag(tag)

        busy = 0
        while True:
            try:
                resp = self._api("POST", path, body, ok=(201, 200), before_retry=find_previous)
            except ApiError as err:
                if err.status == 400 and err.code == "ActiveRequestAlreadyExists":
                    if uncertain:
                        found = self._find_action_by_tag(tag)
                        if found is not None:
                            return found
                    busy += 1
                    if busy > self.busy_retries:
                        raise LiveResponseError(
                            "machine %s still has an active live response action "
                            "(ActiveRequestAlreadyExists) after %d attempts; try "
                            "again later" % (machine, busy)
                        )
                    delay = self.busy_pause + random.uniform(0.0, 2.0)
                    log.warning(
                        "machine %s is busy with another live response action "
                        "(ActiveRequestAlreadyExists); resubmitting in %.0f s",
                        machine, delay,
                    )
                    time.sleep(delay)
                    continue
                raise
            if isinstance(resp, dict):  # found by find_previous
                return resp
            action = resp.json()
            log.info("submitted action %s (%s)", action.get("id"), action.get("status"))
            return action

    def _find_action_by_tag(self, tag):
        query = urllib.parse.urlencode(
            {"$filter": "type eq 'LiveResponse'", "$top": "50"}, quote_via=urllib.parse.quote
        )
        try:
            resp = self._api("GET", "/api/machineactions?" + query, transient_retries=1)
            for action in resp.json().get("value") or []:
                if tag in (action.get("requestorComment") or ""):
                    log.warning(
                        "the earlier submission did reach the service: action %s",
                        action.get("id"),
                    )
                    return action
        except LiveResponseError as exc:
            log.warning("could not check whether the submission went through: %s", exc)
        return None

    def get_action(self, action_id, not_found_until=None):
        path = "/api/machineactions/%s" % urllib.parse.quote(action_id, safe="")
        return self._api("GET", path, not_found_until=not_found_until).json()

    def wait(self, action, submitted_at=None):
        """Poll an action until it is final; returns its last state."""
        action_id = action["id"]
        if action.get("status") in FINAL_STATUSES:
            return action
        start = time.monotonic()
        grace_until = (submitted_at or start) + self.not_found_grace
        last = action.get("status")
        noticed = False
        while True:
            time.sleep(self.poll_interval)
            try:
                action = self.get_action(action_id, not_found_until=grace_until)
            except LiveResponseError as exc:
                raise LiveResponseError(
                    "lost track of live response action %s, which may still be "
                    "running: %s" % (action_id, exc)
                )
            status = action.get("status")
            if status != last:
                log.info("action %s: %s", action_id, status)
                last = status
            if status in FINAL_STATUSES:
                return action
            waited = time.monotonic() - start
            if status == "Pending" and waited >= self.pending_notice and not noticed:
                noticed = True
                log.warning(
                    "action %s is still Pending after %.0f s: the machine has not "
                    "picked it up (offline?); the service keeps it queued for up "
                    "to 3 days (cancel it with: cancel %s)",
                    action_id, waited, action_id,
                )
            if self.max_wait is not None and waited >= self.max_wait:
                raise WaitLimitExceeded(action, waited)

    def run(self, machine, commands, comment=None):
        """Submit commands and wait; returns the final action (any status)."""
        action = self.submit(machine, commands, comment)
        return self.wait(action, submitted_at=time.monotonic())

    def run_checked(self, machine, commands, comment=None):
        action = self.run(machine, commands, comment)
        if action.get("status") != "Succeeded":
            raise ActionNotSuccessful(action)
        return action

    def cancel(self, action_id, comment="Cancelled by mdeclient"):
        """Cancel an action; returns it as the service reports it."""
        path = "/api/machineactions/%s/cancel" % urllib.parse.quote(action_id, safe="")
        try:
            return self._api("POST", path, {"Comment": comment}).json()
        except ApiError as err:
            # 400 for an action that is final already: fine if it is final
            # because it was cancelled (maybe by a retried first attempt).
            if err.status == 400:
                action = self.get_action(action_id)
                if action.get("status") == "Cancelled":
                    log.warning("action %s was already cancelled", action_id)
                    return action
            raise

    # -------------------------------------------------------------- results

    def download_link(self, action_id, index):
        path = "/api/machineactions/%s/GetLiveResponseResultDownloadLink(index=%d)" % (
            urllib.parse.quote(action_id, safe=""),
            index,
        )
        url = self._api("GET", path).json().get("value")
        if not url:
            raise LiveResponseError("no download link for command %d of %s" % (index, action_id))
        return url

    def download_result(self, action_id, index):
        """The bytes of command ``index``'s result, gunzipped if gzipped."""
        for attempt in range(self.link_renewals + 1):
            url = self.download_link(action_id, index)
            try:
                data = self._fetch_blob(url)
            except _LinkRefused as exc:
                if attempt == self.link_renewals:
                    raise LiveResponseError(
                        "the result storage kept refusing the download link (%s)" % exc
                    )
                log.warning("download link refused (%s); asking for a new one", exc)
                continue
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            return data
        raise AssertionError("unreachable")

    def _fetch_blob(self, url):
        try:
            resp = self._request("GET", url, auth=False, ok=(200,))
        except ApiError as err:
            if err.status == 403:
                raise _LinkRefused(err.code or "HTTP 403")
            raise
        return resp.body

    # ------------------------------------------------------ the operations

    def run_script(self, machine, script, args=None):
        params = [{"key": "ScriptName", "value": script}]
        if args:
            params.append({"key": "Args", "value": args})
        action = self.run_checked(
            machine, [{"type": "RunScript", "params": params}], "mdeclient run-script %s" % script
        )
        raw = self.download_result(action["id"], 0)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise LiveResponseError(
                "the result of action %s is not a script result: %s" % (action["id"], exc)
            )
        return ScriptResult(action, doc)

    def get_file(self, machine, path):
        action = self.run_checked(
            machine,
            [{"type": "GetFile", "params": [{"key": "Path", "value": path}]}],
            "mdeclient get-file",
        )
        return self.download_result(action["id"], 0)

    def put_file(self, machine, library_file):
        return self.run_checked(
            machine,
            [{"type": "PutFile", "params": [{"key": "FileName", "value": library_file}]}],
            "mdeclient put-file %s" % library_file,
        )

    def upload_library_file(self, local_path, description=None, override=True):
        """Upload a file to the live response library under its base name."""
        name = os.path.basename(local_path)
        with open(local_path, "rb") as fh:
            content = fh.read()
        fields = [
            ("Description", description or "Uploaded by mdeclient"),
            ("OverrideIfExists", "true" if override else "false"),
        ]
        body, content_type = _multipart(fields, "file", name, content)
        resp = self._request(
            "POST", self.api_url + "/api/libraryfiles", body=body, content_type=content_type
        )
        doc = resp.json()
        expected = hashlib.sha256(content).hexdigest()
        got = (doc.get("sha256") or "").lower()
        if got and got != expected:
            raise LiveResponseError(
                "the library holds %s with sha256 %s, not the uploaded %s" % (name, got, expected)
            )
        return doc


# --------------------------------------------------------------------------
# Helpers


def _token_lifetime(doc):
    for key in ("expires_in", "ext_expires_in"):
        try:
            value = float(doc[key])
            if value > 0:
                return value
        except (KeyError, TypeError, ValueError):
            pass
    try:
        return max(0.0, float(doc["expires_on"]) - time.time())
    except (KeyError, TypeError, ValueError):
        return 300.0  # unknown: assume a short one


def _retry_after(headers):
    value = headers.get("Retry-After") if headers else None
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _error_of(resp):
    """(code, message) of an error answer, whatever its format."""
    text = resp.body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict):  # the API's {"error":{"code","message"}}
            return err.get("code") or "", err.get("message") or ""
        if isinstance(err, str):  # the identity platform's OAuth2 error
            return err, (doc.get("error_description") or "").split("\r\n")[0]
    if "<Code>" in text:  # Azure Storage XML
        code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
        message = ""
        if "<Message>" in text:
            message = text.split("<Message>", 1)[1].split("</Message>", 1)[0].splitlines()[0]
        return code, message
    return "", text.strip()[:200]


def _multipart(fields, file_field, filename, content):
    boundary = "mdeclient-" + uuid.uuid4().hex
    parts = []
    for name, value in fields:
        parts.append(
            (
                '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                % (boundary, name, value)
            ).encode("utf-8")
        )
    ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts.append(
        (
            '--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            "Content-Type: %s\r\n\r\n" % (boundary, file_field, quoted, ctype)
        ).encode("utf-8")
        + content
        + b"\r\n"
    )
    parts.append(("--%s--\r\n" % boundary).encode("ascii"))
    return b"".join(parts), "multipart/form-data; boundary=" + boundary


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _short(url):
    parts = urllib.parse.urlsplit(url)
    if parts.path.startswith("/_blob/") or "sig=" in parts.query:
        return parts.path  # never log a link's signature
    return parts.path + ("?" + urllib.parse.unquote(parts.query) if parts.query else "")


# --------------------------------------------------------------------------
# Command line (and conformance adapter)

EXIT_OK = 0
EXIT_FAILED = 1  # the action or the script did not succeed
EXIT_USAGE = 2
EXIT_ERROR = 3  # the API refused or could not be reached

USAGE = """usage: mdeclient.py [-v] [--poll-interval SECONDS] [--max-wait SECONDS] OPERATION OPERANDS...

operations:
  run-script MACHINE SCRIPT [ARGS]   run a library script, print its output
  get-file MACHINE PATH DEST         collect a file from a machine into DEST
  put-file MACHINE LIBRARY_FILE      put a library file on a machine
  upload LOCAL_FILE                  add or replace a file in the library
  cancel ACTION_ID                   cancel a machine action
  live-response MACHINE              run the JSON command list read from stdin,
                                     print a JSON summary

environment: MDE_API_URL, MDE_TOKEN_URL (or MDE_AUTHORITY and MDE_TENANT_ID),
MDE_CLIENT_ID, MDE_CLIENT_SECRET, MDE_SCOPE"""

OPERANDS = {
    "run-script": (2, 3),
    "get-file": (3, 3),
    "put-file": (2, 2),
    "upload": (1, 1),
    "cancel": (1, 1),
    "live-response": (1, 1),
}


class _UsageError(Exception):
    pass


def _parse_args(argv):
    """Options first, then the operation; operands are taken verbatim (a
    script's ARGS may well start with a dash)."""
    opts = {"verbose": False, "poll_interval": None, "max_wait": None}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        arg = argv[i]
        if arg in ("-h", "--help"):
            print(USAGE)
            sys.exit(EXIT_OK)
        if arg in ("-v", "--verbose"):
            opts["verbose"] = True
            i += 1
            continue
        name, _, value = arg.partition("=")
        if name in ("--poll-interval", "--max-wait"):
            if not value:
                i += 1
                if i >= len(argv):
                    raise _UsageError("%s needs a value" % name)
                value = argv[i]
            try:
                number = float(value)
            except ValueError:
                raise _UsageError("%s: not a number: %r" % (name, value))
            if number <= 0:
                raise _UsageError("%s must be positive" % name)
            opts[name[2:].replace("-", "_")] = number
            i += 1
            continue
        raise _UsageError("unknown option %s" % arg)
    if i >= len(argv):
        raise _UsageError("no operation given")
    op, operands = argv[i], argv[i + 1 :]
    if op not in OPERANDS:
        raise _UsageError("unknown operation %r" % op)
    low, high = OPERANDS[op]
    if not low <= len(operands) <= high:
        raise _UsageError("%s takes %s operands, got %d" % (
            op, low if low == high else "%d to %d" % (low, high), len(operands)))
    return opts, op, operands


def _summary(action):
    return {
        "actionId": action.get("id"),
        "status": action.get("status"),
        "commands": [
            {
                "index": cmd.get("index", i),
                "type": (cmd.get("command") or {}).get("type"),
                "status": cmd.get("commandStatus"),
                "errors": list(cmd.get("errors") or []),
            }
            for i, cmd in enumerate(action.get("commands") or [])
        ],
    }


def _read_commands(stream):
    try:
        commands = json.load(stream)
    except ValueError as exc:
        raise _UsageError("standard input is not JSON: %s" % exc)
    if not isinstance(commands, list) or not commands or not all(
        isinstance(c, dict) for c in commands
    ):
        raise _UsageError("standard input must be a non-empty JSON array of commands")
    return commands


def _write_file(dest, data):
    folder = os.path.dirname(os.path.abspath(dest))
    tmp = os.path.join(folder, ".%s.%s.part" % (os.path.basename(dest), uuid.uuid4().hex[:8]))
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _perform(client, op, operands):
    out, err = sys.stdout, sys.stderr
    if op == "run-script":
        machine, script = operands[0], operands[1]
        args = operands[2] if len(operands) > 2 else None
        result = client.run_script(machine, script, args)
        out.write(result.output)
        out.flush()
        if not result.ok:
            err.write("%s exited with exit code %s\n" % (result.script_name or script, result.exit_code))
            if result.errors:
                err.write("script errors:\n%s\n" % result.errors.rstrip("\n"))
            return EXIT_FAILED
        return EXIT_OK

    if op == "get-file":
        machine, path, dest = operands
        data = client.get_file(machine, path)
        _write_file(dest, data)
        err.write("wrote %d bytes to %s\n" % (len(data), dest))
        return EXIT_OK

    if op == "put-file":
        machine, name = operands
        action = client.put_file(machine, name)
        err.write("put %s on %s (action %s)\n" % (name, machine, action.get("id")))
        return EXIT_OK

    if op == "upload":
        doc = client.upload_library_file(operands[0])
        err.write("library file %s uploaded (sha256 %s)\n" % (doc.get("fileName"), doc.get("sha256")))
        return EXIT_OK

    if op == "cancel":
        action = client.cancel(operands[0])
        err.write("cancellation of %s accepted; status %s\n" % (operands[0], action.get("status")))
        return EXIT_OK

    if op == "live-response":
        commands = _read_commands(sys.stdin)
        action = client.run(operands[0], commands, "mdeclient live-response")
        out.write(json.dumps(_summary(action), indent=2) + "\n")
        out.flush()
        if action.get("status") != "Succeeded":
            err.write(describe_unsuccessful(action) + "\n")
            return EXIT_FAILED
        return EXIT_OK

    raise _UsageError("unknown operation %r" % op)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts, op, operands = _parse_args(argv)
    except _UsageError as exc:
        sys.stderr.write("mdeclient: %s\n\n%s\n" % (exc, USAGE))
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO if opts["verbose"] else logging.WARNING,
        format="mdeclient: %(message)s",
        stream=sys.stderr,
    )
    try:
        client = LiveResponseClient.from_env(
            poll_interval=opts["poll_interval"], max_wait=opts["max_wait"]
        )
        return _perform(client, op, operands)
    except _UsageError as exc:
        sys.stderr.write("mdeclient: %s\n" % exc)
        return EXIT_USAGE
    except ActionNotSuccessful as exc:
        sys.stderr.write("mdeclient: %s\n" % exc)
        return EXIT_FAILED
    except WaitLimitExceeded as exc:
        sys.stderr.write("mdeclient: %s\n" % exc)
        return EXIT_FAILED
    except LiveResponseError as exc:
        sys.stderr.write("mdeclient: %s\n" % exc)
        return EXIT_ERROR
    except OSError as exc:  # local files: upload source, get-file destination
        sys.stderr.write("mdeclient: %s\n" % exc)
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("mdeclient: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
