/* The status card updates itself: while a lookup is in progress it polls /estado.json every 10 s and rewrites the
 * card in place (panels listed in `panels` show, [data-field] elements get their text). No framework, no inline
 * script, textContent only. */
(function () {
  "use strict";
  var card = document.getElementById("cedula-status");
  if (!card || !window.fetch) { return; }
  var url = card.getAttribute("data-status-url");
  var POLL_MS = 10000;
  var MAX_WAIT_MS = 3600000;
  var timer = null;
  var stopped = false;

  function valueFor(payload, name) {
    if (name === "refresh_message") { return payload.refresh.message || ""; }
    if (payload.result && Object.prototype.hasOwnProperty.call(payload.result, name)) { return payload.result[name]; }
    var value = payload[name];
    return value === null || value === undefined ? "" : String(value);
  }

  function render(payload) {
    card.setAttribute("data-status", payload.status || "");
    card.setAttribute("data-checking", payload.checking ? "true" : "false");
    card.setAttribute("data-refresh-allowed", payload.refresh.allowed ? "true" : "false");
    card.setAttribute("data-next-refresh-at", payload.refresh.next_allowed_at || "");
    var panels = card.querySelectorAll("[data-panel]");
    for (var i = 0; i < panels.length; i++) {
      panels[i].hidden = payload.panels.indexOf(panels[i].getAttribute("data-panel")) === -1;
    }
    var fields = card.querySelectorAll("[data-field]");
    for (var j = 0; j < fields.length; j++) {
      fields[j].textContent = valueFor(payload, fields[j].getAttribute("data-field"));
    }
    var time = card.querySelector("time[data-field]");
    if (time) { time.setAttribute("datetime", payload.last_checked || ""); }
    var button = card.querySelector("[data-refresh-button]");
    if (button) { button.disabled = !payload.refresh.allowed; }
    if (!payload.checking) {
      // "Cuenta creada. Estamos verificando…" is stale once the answer is on the card.
      var stale = document.querySelectorAll("[data-until-result]");
      for (var k = 0; k < stale.length; k++) { stale[k].remove(); }
    }
  }

  function schedule(checking, refreshAllowed, nextRefreshAt) {
    if (stopped) { return; }
    var delay = null;
    if (checking) {
      delay = POLL_MS;
    } else if (!refreshAllowed && nextRefreshAt) {
      // Look again just after the limits leave room, so the button comes back without a reload.
      var at = Date.parse(nextRefreshAt);
      if (!isNaN(at)) { delay = Math.min(MAX_WAIT_MS, Math.max(1000, at - Date.now() + 1500)); }
    }
    if (delay !== null) { timer = window.setTimeout(poll, delay); }
  }

  function poll() {
    timer = null;
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          // Session gone: a reload takes the person to the login page.
          stopped = true;
          window.location.reload();
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (payload) {
        if (!payload) { return; }
        render(payload);
        schedule(payload.checking, payload.refresh.allowed, payload.refresh.next_allowed_at);
      })
      .catch(function () {
        if (!stopped) { timer = window.setTimeout(poll, POLL_MS); }
      });
  }

  schedule(
    card.getAttribute("data-checking") === "true",
    card.getAttribute("data-refresh-allowed") === "true",
    card.getAttribute("data-next-refresh-at")
  );
})();
