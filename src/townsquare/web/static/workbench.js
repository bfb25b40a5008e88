// Keyboard shortcuts and the blur toggle for the case view. Served as a file (the CSP forbids inline
// script); it only fills and submits the page's own forms, so the server still validates everything.
(function () {
  "use strict";
  var ACTIONS = ["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"];

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function toggleBlur() {
    var text = document.getElementById("post-text");
    var button = document.getElementById("toggle-blur");
    if (!text || !button) { return; }
    var shown = text.classList.toggle("revealed");
    button.setAttribute("aria-expanded", shown ? "true" : "false");
    button.textContent = shown ? "Blur text (s)" : "Show text (s)";
  }

  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var blur = document.getElementById("toggle-blur");
    if (blur) { blur.addEventListener("click", toggleBlur); }
    var reason = document.getElementById("reason");
    if (reason) {
      reason.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          submit(document.getElementById("decide-form"));
        }
      });
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var decide = document.getElementById("decide-form");
    var key = event.key;
    if (key === "t") {
      var take = document.getElementById("take-form");
      if (take) { event.preventDefault(); submit(take); }
    } else if (key === "n" && decide) {
      event.preventDefault();
      document.getElementById("outcome-none").checked = true;
      submit(decide);
    } else if (/^[1-6]$/.test(key) && decide) {
      event.preventDefault();
      document.getElementById("outcome-violation").checked = true;
      document.getElementById("action").value = ACTIONS[Number(key) - 1];
      document.getElementById("reason").focus();
    } else if (key === "e") {
      var why = document.getElementById("escalate-reason");
      if (why) { event.preventDefault(); why.focus(); }
    } else if (key === "s") {
      event.preventDefault();
      toggleBlur();
    }
  });
}());
