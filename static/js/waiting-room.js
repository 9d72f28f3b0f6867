// The waiting page reloads itself after the number of seconds the server chose (a base plus
// a random part, so that a crowd that arrived together does not come back together). A meta
// refresh would do the same without script, but cannot be paused or announced (WCAG 2.2.1).
(function () {
  "use strict";
  var node = document.querySelector("[data-refresh]");
  if (!node) { return; }
  var seconds = parseInt(node.getAttribute("data-refresh"), 10);
  if (!(seconds > 0)) { return; }
  window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
}());
