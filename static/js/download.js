// Personal downloads (kaika/downloads.py): each click posts to a URL with a nonce drawn here,
// one that nobody else will ever ask for, so no shared cache can hand this file to anyone else.
(function () {
  "use strict";
  var PLACEHOLDER = /\/0{32}\/$/;
  function nonce() {
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  document.querySelectorAll("form[data-private-download]").forEach(function (form) {
    // The script may be included once per form: each form gets one listener.
    if (form.hasAttribute("data-download-ready")) { return; }
    form.setAttribute("data-download-ready", "");
    var template = form.getAttribute("action");
    form.addEventListener("submit", function () {
      form.setAttribute("action", template.replace(PLACEHOLDER, "/" + nonce() + "/"));
    });
  });
})();
