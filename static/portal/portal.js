// Portal behaviour (no inline scripts: CSP). Works without it; this only adds comfort.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="element-id">. The status next to it is announced. A button
  // marked hidden is for a read-only field that works without JavaScript: show it now.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy][hidden]"), function (b) {
    b.hidden = false;
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var field = source.tagName === "INPUT" || source.tagName === "TEXTAREA";
    var text = (field ? source.value : source.textContent).trim();
    var status = button.parentElement.querySelector(".copy-status");
    function done(ok) {
      // Words come from the template (translated there).
      if (status) status.textContent = button.getAttribute(ok ? "data-copied" : "data-copy-failed") || "";
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else if (field) {
      source.select();
      done(false);
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      done(false);
    }
  });

  // After a step is swapped in: focus the first error, else the new step's heading.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "wizard") return;
    var invalid = target.querySelector("[aria-invalid='true']");
    var alert = target.querySelector(".alert-error, #form-errors");
    var heading = target.querySelector("#step-heading");
    var focus = invalid || alert || heading;
    if (focus) {
      if (!focus.hasAttribute("tabindex") && focus === alert) focus.setAttribute("tabindex", "-1");
      focus.focus();
    }
  });

  // --- uxflow: a retry starts -> the step's old error banner goes (the answer brings a new one
  // if it fails again), so a stale error never sits next to the busy notice.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt.tagName !== "FORM" || !elt.closest) return;
    var wizard = elt.closest("#wizard");
    if (!wizard) return;
    wizard.querySelectorAll("#banner, .messages .msg-error").forEach(function (node) { node.remove(); });
  });

  // The busy notice sits above the form (never over it): when the button pressed was further down
  // a long form, bring the notice into view once htmx has shown it (where the answer lands anyway).
  document.addEventListener("htmx:beforeSend", function () {
    var busy = document.getElementById("busy");
    if (!busy || !busy.classList.contains("htmx-request")) return;
    var box = busy.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) busy.scrollIntoView({ block: "nearest" });
  });
})();
