// Fills prefecture and city from a 7-digit postal code, only into fields still empty.
(function () {
  "use strict";
  var input = document.querySelector("[data-postal-autofill]");
  if (!input) { return; }
  var form = input.form;
  function digits(value) {
    return value.normalize("NFKC").replace(/[^0-9]/g, "");
  }
  input.addEventListener("change", function () {
    var code = digits(input.value);
    if (code.length !== 7) { return; }
    fetch("/api/postal/" + code + "/", { credentials: "omit" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !data.found) { return; }
        var prefecture = form.querySelector("[name=prefecture]");
        var city = form.querySelector("[name=city]");
        var street = form.querySelector("[name=street_address]");
        if (prefecture && !prefecture.value) { prefecture.value = data.prefecture_code; }
        if (city && !city.value) { city.value = data.city; }
        if (street && !street.value) { street.value = data.town; }
      })
      .catch(function () { /* autofill is a convenience: typing by hand still works */ });
  });
})();
