// The residents' one script: keep opened pages for offline use, and confirm "Report lost".
"use strict";
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
