// The running total under each units field of the shop page: what the units typed cost and
// the face value of their tickets. The figures per unit come from the page (data-unit-price,
// data-unit-tickets, rendered from Listing.tickets_value), and so does the yen format
// (data-yen: the yen filter's output with # for the number, "#円" or "¥#"). Nothing is fetched and nothing about the visitor
// is read: the page stays the same for everyone. Without this script the total shows 1 unit,
// and the confirmation page shows the same figures for any number.
(function () {
  "use strict";
  function yen(pattern, n) {
    return pattern.replace("#", n.toLocaleString("en-US"));
  }
  document.querySelectorAll("[data-order-total]").forEach(function (total) {
    var form = total.closest("form");
    var input = form && form.querySelector('input[name="units"]');
    if (!input) { return; }
    var price = parseInt(total.getAttribute("data-unit-price"), 10);
    var tickets = parseInt(total.getAttribute("data-unit-tickets"), 10);
    var pattern = total.getAttribute("data-yen");
    var amountNode = total.querySelector('[data-total="amount"]');
    var ticketsNode = total.querySelector('[data-total="tickets"]');
    function update() {
      var units = Number(input.value);
      var max = input.max ? Number(input.max) : Infinity;
      // Not a number of units the form would send: no total rather than a wrong one.
      var valid = Number.isInteger(units) && units >= 1 && units <= max;
      total.hidden = !valid;
      if (valid) {
        amountNode.textContent = yen(pattern, units * price);
        ticketsNode.textContent = yen(pattern, units * tickets);
      }
    }
    input.addEventListener("input", update);
    update();
  });
})();
