// Refreshes the countdown the server rendered as text (public pages are cached for up to a
// minute, so the text may be a little old). No data is fetched; the page works without this.
(function () {
  "use strict";
  var node = document.querySelector("[data-countdown-target]");
  if (!node) { return; }
  var target = Date.parse(node.getAttribute("data-countdown-target"));
  if (isNaN(target)) { return; }
  var units = {};
  ["days", "hours", "minutes", "seconds"].forEach(function (u) {
    units[u] = node.querySelector('[data-unit="' + u + '"]');
  });
  function tick() {
    var left = Math.max(Math.floor((target - Date.now()) / 1000), 0);
    units.days.textContent = Math.floor(left / 86400);
    units.hours.textContent = Math.floor((left % 86400) / 3600);
    units.minutes.textContent = Math.floor((left % 3600) / 60);
    units.seconds.textContent = left % 60;
    if (left === 0) {
      var done = document.querySelector("[data-countdown-done]");
      if (done) { done.hidden = false; }
      return;
    }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
