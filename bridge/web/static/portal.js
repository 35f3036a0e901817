// slabridge customer portal: keep the page current. Plain JS, no dependencies.
// The server only says *which* ticket changed; the page fetches itself again and swaps the
// parts marked data-live (and the answer forms, only when the ticket's state moved on, so a
// half-written reply is never wiped).
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) return;
  var summary = document.querySelector("[data-ticket][data-live]");
  var mine = summary ? summary.dataset.ticket : null;
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = el.id && doc.getElementById(el.id);
          if (fresh && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
        });
        var forms = document.querySelector("[data-live-forms]");
        var freshForms = doc.querySelector("[data-live-forms]");
        if (forms && freshForms && forms.dataset.status !== freshForms.dataset.status) {
          forms.replaceWith(document.importNode(freshForms, true));
        }
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; window.setTimeout(refresh, mine ? 500 : 3000); }
      });
  }

  var source = new EventSource("/portal/events");
  source.addEventListener("ticket", function (ev) {
    var data = JSON.parse(ev.data);
    if (!mine || data.id === mine) refresh();
  });
  document.documentElement.dataset.live = "on";
  source.addEventListener("hello", function () { document.documentElement.dataset.liveReady = "1"; });
})();
