// The audit page while the chain is verified in the background: poll the progress, then show the result.
(function () {
  "use strict";
  var box = document.getElementById("verify-progress");
  if (!box) { return; }
  var bar = document.getElementById("verify-bar");
  var count = document.getElementById("verify-count");
  var url = box.getAttribute("data-status-url");
  var done = box.getAttribute("data-done-url") || "/audit";
  function fmt(n) { return Number(n).toLocaleString("en"); }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        count.textContent = fmt(p.batches_checked) + " of " + fmt(p.batches_total);
        if (p.state === "running") { window.setTimeout(poll, 400); } else { window.location.replace(done); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 200);
}());
