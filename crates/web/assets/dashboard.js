// The dashboard's live refresh (hotline-web, crates/web/src/dashboard):
// every data-refresh seconds, fetch this page again and swap in each
// section marked data-live. No library and no build step.
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh")) || 30;
  // Says the script runs (the browser tests read it).
  document.documentElement.setAttribute("data-live-refresh", String(seconds));
  var status = function (text) {
    var s = document.getElementById("live-status");
    if (s) { s.textContent = text; }
  };
  var refresh = function () {
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (old) {
          var next = fresh.getElementById(old.id);
          if (next) { old.replaceWith(document.importNode(next, true)); }
        });
        status("实时 live · " + new Date().toLocaleTimeString());
      })
      .catch(function (e) { status("刷新失败 refresh failed: " + e.message); });
  };
  setInterval(refresh, seconds * 1000);
})();
