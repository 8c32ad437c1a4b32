// The residents' one script: keep opened pages for offline use, forget the kept copies of passes
// that are no longer active, and confirm "Report lost".
"use strict";
var CACHE = "gatekeeper-resident-v1";  // as in sw.js
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/r/sw.js", { scope: "/r/" }).catch(function () { /* pages still work online */ });
}
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A pass reported lost (or expired) must not keep showing from the offline copy of its page.
if (window.caches) {
  document.querySelectorAll("[data-gone]").forEach(function (element) {
    var page = element.getAttribute("data-gone");
    caches.open(CACHE).then(function (cache) {
      cache.delete(page);
      cache.delete(page + ".png");
    });
  });
}
