// The waiting page. Without a queue to follow it reloads itself after the number of seconds
// the server chose (a base plus a random part, so that a crowd that arrived together does not
// come back together). A meta refresh would do the same without script, but cannot be paused
// or announced (WCAG 2.2.1).
//
// In the queue it does not reload: it reads the public line (how many have been let in, the
// pace; the same for everyone, answered by the front from its copy) and works out its place
// from its ticket, which the page gave, or, in the pre-queue, from the drawn order published
// after the opening under a place name only this page knows. When its turn has come it
// reloads once, and the server lets it in. If the line cannot be read it falls back to
// reloading the page.
//
// The line also says what is gone: the listings found sold out and whether the round can sell
// nothing more. The page shows or hides the same notices; once the round has ended it stops
// looking (a reload shows the latest).
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main) { return; }
  var refresh = parseInt(main.getAttribute("data-refresh"), 10);
  var line = main.getAttribute("data-line");
  var JITTER = 3, LEAST = 3, MOST = 20, FAILURES = 3;

  function reloadIn(seconds) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
  if (!line || !window.fetch) {
    // The busy page's own delay is fixed: the jitter spreads the visitors it turned away.
    if (refresh > 0) { reloadIn(refresh + Math.random() * JITTER); }
    return;
  }

  var ticket = main.hasAttribute("data-ticket") ?
    parseInt(main.getAttribute("data-ticket"), 10) : null;
  var place = main.getAttribute("data-place");
  var places = main.getAttribute("data-places");
  var listing = parseInt(main.getAttribute("data-listing"), 10);
  var failures = 0;

  function each(selector, apply) {
    Array.prototype.forEach.call(main.querySelectorAll(selector), apply);
  }
  function show(name, on) {
    each("[data-show='" + name + "']", function (node) { node.hidden = !on; });
  }
  function write(name, value) {
    each("[data-" + name + "]", function (node) { node.textContent = String(value); });
  }
  function later(seconds) {
    window.setTimeout(look, (seconds + Math.random() * JITTER) * 1000);
  }
  function read(url) {
    return window.fetch(url, { credentials: "omit" }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    });
  }
  function failed() {
    failures += 1;
    if (failures >= FAILURES && refresh > 0) { reloadIn(refresh); } else { later(LEAST * 2); }
  }

  function follow(data) {
    show("sold_out", (data.sold_out || []).indexOf(listing) !== -1);
    show("ended", data.ended === true);
    if (data.ended === true) { return; }
    var position = ticket - data.admitted + 1;
    if (position <= 0) {
      reloadIn(Math.random() * 2);  // let in: the page hands over the pass
      return;
    }
    var wait = Math.floor(position / data.rate);
    show("pre", false);
    show("closed", false);
    show("waiting", true);
    show("paused", data.paused);
    show("running", !data.paused);
    write("position", position);
    write("minutes", Math.max(1, Math.ceil(wait / 60)));
    // The further back, the less often: a visitor 10,000th at 40 a second need not look
    // every few seconds.
    later(Math.min(MOST, Math.max(LEAST, wait / 8)));
  }

  function look() {
    read(line).then(function (data) {
      failures = 0;
      if (data.state === "line") {
        if (ticket !== null) { follow(data); return null; }
        return read(places).then(function (part) {
          var mine = part.places ? part.places[place] : undefined;
          if (typeof mine !== "number") { reloadIn(Math.random() * LEAST); return; }
          ticket = mine;
          follow(data);
        });
      }
      if (data.state === "pre") {
        // Back just after the opening (by this browser's clock, and every 20 s anyway).
        later(Math.max(1, Math.min(MOST, data.opens - Date.now() / 1000 + 1)));
      } else if (data.state === "closed") {
        show("closed", true);
        later(15);
      } else if (data.state === "shuffling") {
        later(1);
      } else {
        reloadIn(Math.random() * LEAST);  // the room is no longer in force: the page says why
      }
      return null;
    }).catch(failed);
  }

  later(ticket === null ? Math.max(1, refresh || LEAST) : LEAST);
}());
