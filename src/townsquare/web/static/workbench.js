// Keyboard shortcuts, the blur toggles, list navigation and the undo window of the workbench. Served as a
// file (the CSP forbids inline script); it only fills and submits the page's own forms, so the server
// still validates everything.
(function () {
  "use strict";
  var ACTIONS = ["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"];
  var pending = null; // the undo window of an `n` decision: {timer, tick}

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

  function reveal(el) {
    var shown = el.classList.toggle("revealed");
    el.setAttribute("title", shown ? "Shown: click or press Enter to blur again" : "Blurred: click or press Enter to show");
  }

  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function cancelUndo() {
    if (!pending) { return false; }
    clearTimeout(pending.timer);
    clearInterval(pending.tick);
    pending = null;
    var bar = document.getElementById("undo-bar");
    if (bar) { bar.hidden = true; }
    var status = document.getElementById("undo-status");
    if (status) { status.textContent = "Undone: nothing was decided."; }
    var violation = document.getElementById("outcome-violation");
    if (violation) { violation.checked = true; }
    return true;
  }

  // `n`: no violation, submitted after a short window in which Esc, u or the Undo button cancels it.
  function noViolation(form) {
    if (pending) { return; }
    document.getElementById("outcome-none").checked = true;
    var ms = Number(form.getAttribute("data-undo-ms") || "5000");
    var bar = document.getElementById("undo-bar");
    var seconds = document.getElementById("undo-seconds");
    var left = Math.ceil(ms / 1000);
    if (seconds) { seconds.textContent = String(left); }
    if (bar) { bar.hidden = false; }
    pending = {
      timer: setTimeout(function () { clearInterval(pending.tick); pending = null; submit(form); }, ms),
      tick: setInterval(function () { left -= 1; if (seconds && left >= 0) { seconds.textContent = String(left); } }, 1000)
    };
    var undo = document.getElementById("undo");
    if (undo) { undo.focus(); }
  }

  // j / k move through a list's rows, Enter opens the row's link.
  function rows() {
    var list = document.querySelector(".nav-list");
    return list ? Array.prototype.slice.call(list.querySelectorAll("tbody tr[data-href]")) : [];
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return false; }
    var at = all.findIndex(function (r) { return r.classList.contains("current"); });
    var next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step));
    if (at >= 0) { all[at].classList.remove("current"); all[at].removeAttribute("aria-current"); }
    all[next].classList.add("current");
    all[next].setAttribute("aria-current", "true");
    var link = all[next].querySelector("a");
    if (link) { link.focus(); }
    all[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var blur = document.getElementById("toggle-blur");
    if (blur) { blur.addEventListener("click", toggleBlur); }
    var undo = document.getElementById("undo");
    if (undo) { undo.addEventListener("click", cancelUndo); }
    Array.prototype.forEach.call(document.querySelectorAll(".harmful.blurred"), function (el) {
      el.addEventListener("click", function () { reveal(el); });
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); reveal(el); }
      });
    });
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
    if (event.key === "Escape" && cancelUndo()) { event.preventDefault(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var decide = document.getElementById("decide-form");
    var key = event.key;
    if (key === "u" && cancelUndo()) {
      event.preventDefault();
    } else if ((key === "j" || key === "k") && rows().length) {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "Enter" && rows().length && event.target === document.body) {
      var current = document.querySelector(".nav-list tr.current");
      if (current) { event.preventDefault(); window.location.href = current.getAttribute("data-href"); }
    } else if (key === "t") {
      var take = document.getElementById("take-form");
      if (take) { event.preventDefault(); submit(take); }
    } else if (key === "n" && decide) {
      event.preventDefault();
      noViolation(decide);
    } else if (/^[1-6]$/.test(key) && decide) {
      event.preventDefault();
      cancelUndo();
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
