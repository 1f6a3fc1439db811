// The dashboard's script: live updates from /_emulator/ui/events, the
// forms posted without leaving the page, the journal's filters. Plain
// JavaScript, no library, no build step.
(function () {
  "use strict";
  var maxRows = 200; // journal rows kept on the page
  var body = document.body;
  var live = document.getElementById("live");
  var flash = document.getElementById("flash");

  // The control token came in the address once; the cookie holds it now.
  var params = new URLSearchParams(location.search);
  if (params.has("token")) {
    params.delete("token");
    var q = params.toString();
    history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
  }

  function showError(text) {
    flash.textContent = text;
    flash.hidden = false;
  }

  // Forms post as forms; the answer is 204, or an error to show.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList.contains("action")) return;
    ev.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    }).then(function (res) {
      if (res.ok) { flash.hidden = true; return; }
      return res.json().then(function (e) {
        showError(res.status + " " + e.error.code + ": " + e.error.message);
      }, function () { showError("HTTP " + res.status); });
    }, function (err) { showError("request failed: " + err); });
  });

  document.getElementById("tenant-select").addEventListener("change", function () {
    document.getElementById("tenant-form").submit();
  });

  var es;
  function connect() {
    var q = new URLSearchParams(body.dataset.query);
    q.set("after", body.dataset.after);
    es = new EventSource("ui/events?" + q.toString());
    es.onopen = function () { live.textContent = "live"; live.className = "live on"; };
    es.onerror = function () { live.textContent = "reconnecting…"; live.className = "live off"; };
    ["clock", "machines", "actions", "limits", "faults"].forEach(function (name) {
      es.addEventListener(name, function (e) {
        document.getElementById("sec-" + name).innerHTML = e.data;
      });
    });
    es.addEventListener("journal", function (e) {
      var rows = document.getElementById("journal-rows");
      rows.insertAdjacentHTML("afterbegin", e.data);
      var first = rows.querySelector("tr[data-seq]");
      if (first) body.dataset.after = first.dataset.seq; // a reconnect resumes from here
      while (rows.children.length > maxRows) rows.removeChild(rows.lastElementChild);
    });
  }
  connect();
})();
