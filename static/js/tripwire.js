// The leak tripwire (ops/tripwire.py). Loaded in <head> of every private page, before anything
// is shown: if this page was made for another browser (a shared cache mixing people up, as in
// 2021), hide it, report it, reload once.
(function () {
  "use strict";
  var root = document.documentElement;
  var cookie = function (name) {
    var match = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([0-9a-f]{32})"));
    return match ? match[1] : "";
  };
  var seen, own;
  if (root.hasAttribute("data-viewer")) {
    // A signed-in page: only a login on this browser sets the cookie it must match. None at
    // all means this browser never signed in (or signed out): the page is someone else's.
    seen = root.getAttribute("data-viewer");
    own = cookie("kaika_viewer");
  } else if (root.hasAttribute("data-visitor")) {
    // A private page for an anonymous visitor: the server echoed the mark the request came
    // with. This script alone writes the mark, so a cached page cannot bring it along.
    seen = root.getAttribute("data-visitor");
    own = cookie("kaika_visitor");
    if (!own) {
      var bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      var mark = Array.prototype.map.call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
      document.cookie = "kaika_visitor=" + mark + "; path=/; max-age=31536000; samesite=lax" +
        (location.protocol === "https:" ? "; secure" : "");
    }
    // Made for a request without a mark (a first visit, another tab writing it meanwhile, a
    // browser without JavaScript): nothing to compare with.
    if (!seen) { return; }
  } else {
    return;
  }
  if (seen === own) { return; }
  root.hidden = true;
  var body = new URLSearchParams({ path: location.pathname, seen: seen, own: own });
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
