// deploybot live updates: a page whose <main> names the repositories it
// shows (data-live="owner/repo", or "*" for all) follows /events and
// reloads its <main> from the server when one of them changes. Without
// JavaScript the pages work the same, they just do not update by themselves.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var watched = main.getAttribute("data-live");
  var indicator = document.getElementById("live");
  var busy = false, again = false, timer = 0;

  function concerns(ev) {
    if (ev.reload || watched === "*") return true;
    return (ev.changes || []).some(function (c) { return c.repo.toLowerCase() === watched.toLowerCase(); });
  }

  // The user is typing in a form: do not pull it from under them.
  function editing() {
    var a = document.activeElement;
    return a && main.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName);
  }

  function refresh() {
    timer = 0;
    if (busy || editing()) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { location.reload(); throw new Error("reloading"); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main[data-live]");
        if (!fresh) return;
        main.innerHTML = fresh.innerHTML;
        document.title = doc.title;
        document.body.setAttribute("data-live-updates", String(Number(document.body.getAttribute("data-live-updates") || 0) + 1));
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  // Changes come in bursts (a step ends, the next starts): one fetch for a burst.
  function schedule() { if (!timer) timer = setTimeout(refresh, 200); }

  main.addEventListener("focusout", function () { if (again && !busy) { again = false; schedule(); } });

  var source = new EventSource("/events");
  var opened = false;
  source.addEventListener("open", function () {
    if (indicator) indicator.hidden = false;
    // Back after a lost connection (or the server's periodic access
    // re-check): what changed meanwhile was not heard, so catch up.
    if (opened) schedule();
    opened = true;
  });
  source.addEventListener("error", function () { if (indicator) indicator.hidden = true; });
  source.addEventListener("change", function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (_) { return; }
    if (concerns(ev)) schedule();
  });
})();
