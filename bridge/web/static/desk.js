// slabridge desk: countdowns, keyboard, live updates. Plain JS, no dependencies.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var queue = document.getElementById("queue");
  var live = document.getElementById("live");
  var base = { server: 0, local: 0 };

  function syncClock() {
    var table = document.querySelector("[data-now]");
    if (table) { base.server = Number(table.dataset.now); base.local = Date.now() / 1000; }
  }
  function now() { return Math.floor(base.server + (Date.now() / 1000 - base.local)); }

  // --- countdowns: the same arithmetic as bridge/web/countdown.py -------------------------
  function duration(seconds) {
    var s = Math.abs(Math.trunc(seconds));
    var d = Math.floor(s / 86400); s -= d * 86400;
    var h = Math.floor(s / 3600); s -= h * 3600;
    var m = Math.floor(s / 60); s -= m * 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (d) return d + " d " + h + " h";
    if (h) return h + " h " + two(m) + " m";
    return m + " m " + two(s) + " s";
  }
  function remainingAt(cd, t) {
    var used = 0;
    cd.windows.forEach(function (w) {
      used += Math.max(0, Math.min(w[1], t) - Math.max(w[0], cd.base));
    });
    return cd.remaining - used;
  }
  function label(cd, t) {
    if (cd.state === "met") return ["met", "met"];
    var rem = remainingAt(cd, t);
    if (cd.state === "paused") return ["paused · " + duration(rem) + " left", "paused"];
    if (rem < 0) return ["breached · " + duration(-rem) + " over", "breached"];
    var share = (cd.target - rem) / cd.target;
    var css = share >= 0.9 ? "p90" : share >= 0.75 ? "p75" : share >= 0.5 ? "p50" : "";
    var ticking = cd.windows.some(function (w) { return w[0] <= t && t < w[1]; });
    if (!ticking) {
      var next = cd.windows.find(function (w) { return w[0] > t; });
      var when = "";
      if (next) {
        var dt = new Date(next[0] * 1000);
        var days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
        when = " until " + days[dt.getUTCDay()] + " " + ("0" + dt.getUTCHours()).slice(-2) +
          ":" + ("0" + dt.getUTCMinutes()).slice(-2) + " UTC";
      }
      return [duration(rem) + " · paused" + when, (css + " paused").trim()];
    }
    return [duration(rem), css];
  }
  function tick() {
    var t = now();
    document.querySelectorAll(".cd[data-cd]").forEach(function (el) {
      var cd = JSON.parse(el.dataset.cd);
      var out = label(cd, t);
      if (el.textContent !== out[0]) el.textContent = out[0];
      el.className = ("cd " + out[1]).trim();
    });
  }

  // --- keyboard -----------------------------------------------------------------------------
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-ticket]")); }
  function mark(i) {
    var all = rows();
    if (!all.length) { current = -1; return; }
    current = Math.max(0, Math.min(i, all.length - 1));
    all.forEach(function (r, n) { r.classList.toggle("current", n === current); });
    all[current].scrollIntoView({ block: "nearest" });
  }
  function currentRow() { return rows()[current]; }
  function post(action, keys, extra) {
    var form = new URLSearchParams();  // a urlencoded form (multipart bodies are refused)
    form.append("csrf", csrf);
    form.append("action", action);
    keys.forEach(function (k) {
      form.append("ticket", k);
      var row = document.querySelector('tr[data-ticket="' + k + '"]');
      if (row) form.append("v-" + k, row.dataset.version);
    });
    Object.keys(extra || {}).forEach(function (k) { form.append(k, extra[k]); });
    return fetch("/desk/bulk", {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.failed && body.failed.length) alert(body.failed.join("\n"));
      refresh();
    });
  }
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    var help = document.getElementById("help");
    if (e.key === "j") { mark(current + 1); e.preventDefault(); }
    else if (e.key === "k") { mark(current - 1); e.preventDefault(); }
    else if (e.key === "Enter" && currentRow()) {
      window.location = currentRow().querySelector("a").href;
    } else if (e.key === "t" && currentRow() && queue && queue.querySelector("#bulk-form .bulk")) {
      post("take", [currentRow().dataset.ticket]);
    } else if (e.key === "x" && currentRow()) {
      var box = currentRow().querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (e.key === "?" && help) { help.hidden = !help.hidden; }
  });

  // --- live updates: SSE, reconnect, polling fallback ---------------------------------------
  var pending = null, polling = null, source = null;
  function refresh() {
    if (!queue) return;
    var url = queue.dataset.url + (queue.dataset.url.indexOf("?") < 0 ? "?" : "&") + "partial=1";
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.redirected || r.status === 401 || r.status === 403) { window.location = "/login"; return null; }
      return r.text();
    }).then(function (html) {
      if (html === null) return;
      // what the person has ticked or typed meanwhile survives the new rows
      var ticked = {};
      document.querySelectorAll("#queue input[name=ticket]:checked").forEach(function (b) { ticked[b.value] = true; });
      var bar = {};
      document.querySelectorAll("#bulk-form .bulk [name]").forEach(function (el) { bar[el.name] = el.value; });
      var was = currentRow() ? currentRow().dataset.ticket : null;
      queue.innerHTML = html;
      document.querySelectorAll("#bulk-form .bulk [name]").forEach(function (el) {
        if (el.name in bar) el.value = bar[el.name];
      });
      syncClock();
      document.querySelectorAll("#queue input[name=ticket]").forEach(function (b) { b.checked = !!ticked[b.value]; });
      var all = rows();
      if (was) { var i = all.findIndex(function (r) { return r.dataset.ticket === was; }); if (i >= 0) mark(i); }
      tick();
    });
  }
  function soon() { if (!pending) pending = setTimeout(function () { pending = null; refresh(); }, 150); }
  function poll(on) {
    if (on && !polling) polling = setInterval(refresh, 5000);
    if (!on && polling) { clearInterval(polling); polling = null; }
  }
  function connect() {
    if (!window.EventSource) { poll(true); return; }
    source = new EventSource("/desk/events");
    source.addEventListener("hello", function () {
      if (live) live.textContent = "Live updates: on";
      poll(false);
      soon(); // whatever happened while the stream was down
    });
    source.addEventListener("ticket", soon);
    source.onerror = function () {
      if (live) live.textContent = "Live updates: reconnecting (polling meanwhile)";
      poll(true);
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  }

  syncClock();
  tick();
  setInterval(tick, 1000);
  if (queue) connect();
  window.slabridgeDesk = { refresh: refresh, remainingAt: remainingAt, label: label };
})();
