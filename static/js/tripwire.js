// The leak tripwire (ops/tripwire.py). Loaded in <head> of per-user pages, before anything
// is shown: if this page was made for someone other than the person logged in on this
// browser (a shared cache mixing people up, as in 2021), hide it, report it, reload once.
(function () {
  "use strict";
  var root = document.documentElement;
  var seen = root.getAttribute("data-viewer");
  var match = document.cookie.match(/(?:^|;\s*)kaika_viewer=([0-9a-f]+)/);
  // No cookie (logged in before the tripwire existed): nothing to compare with.
  if (!seen || !match || match[1] === seen) { return; }
  root.hidden = true;
  var body = new URLSearchParams({ path: location.pathname, seen: seen, own: match[1] });
  var done = function () {
    // Once: a front that keeps serving the wrong page must not make the browser loop.
    if (!sessionStorage.getItem("kaika-tripwire-reloaded")) {
      sessionStorage.setItem("kaika-tripwire-reloaded", "1");
      location.reload();
    }
  };
  fetch(root.getAttribute("data-tripwire-url"), {
    method: "POST",
    body: body,
    credentials: "same-origin",
    cache: "no-store",
    keepalive: true
  }).then(done, done);
})();
