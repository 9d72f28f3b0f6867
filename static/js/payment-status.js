// The page after paying at the provider: asks the server every few seconds whether the
// provider's notice has landed (204: not yet) and, once it has (a redirect), opens the order.
// It stops after a while and says so; nothing here is needed for the payment itself.
(function () {
  "use strict";
  var node = document.querySelector("[data-payment-status]");
  if (!node || !window.fetch) { return; }
  var pollUrl = node.getAttribute("data-poll-url");
  var orderUrl = node.getAttribute("data-order-url");
  var left = parseInt(node.getAttribute("data-polls"), 10) || 0;
  var delay = (parseInt(node.getAttribute("data-poll-seconds"), 10) || 3) * 1000;
  function slow() {
    var waiting = node.querySelector("[data-payment-waiting]");
    var message = node.querySelector("[data-payment-slow]");
    if (waiting) { waiting.hidden = true; }
    if (message) { message.hidden = false; }
  }
  function poll() {
    left -= 1;
    fetch(pollUrl, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (response) {
        // A redirect (to the order, or to the login page) is opaque here: open the order.
        if (response.type === "opaqueredirect") {
          window.location.assign(orderUrl);
        } else {
          next();
        }
      })
      .catch(next);
  }
  function next() {
    if (left > 0) { window.setTimeout(poll, delay); } else { slow(); }
  }
  next();
})();
