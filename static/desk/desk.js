// The desk's own behaviour, in a file rather than inline so the Content-Security-Policy can forbid inline
// scripts (cxhost.middleware.ContentSecurityPolicyMiddleware). Everything is delegated from the document, so it
// also works for the fragments htmx swaps in.
(function () {
  "use strict";
  function closeDialog() {
    var d = document.getElementById("dialog");
    if (d) { d.innerHTML = ""; }
  }
  // A dialog closes with Escape, its × or a tap beside it, as on any tablet.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { closeDialog(); }
  });
  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t || !t.closest) { return; }
    if (t.id === "dialog" || t.closest("[data-close-dialog]")) { closeDialog(); return; }
    var toastClose = t.closest("[data-close-toast]");
    if (toastClose) { toastClose.parentElement.classList.add("hidden"); return; }
    // A free time picked from the slots fills the booking form's time.
    var slot = t.closest("button.slot[data-slot]");
    if (slot && slot.form) {
      slot.form.elements.time.value = slot.dataset.slot;
      slot.parentElement.querySelectorAll(".slot").forEach(function (b) { b.classList.remove("chosen"); });
      slot.classList.add("chosen");
    }
  });
  // The language switcher and the date picker act on change; the restaurant switcher goes to the chosen desk.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || !t.matches) { return; }
    if (t.matches("[data-autosubmit]") && t.form) { t.form.submit(); }
    else if (t.matches("[data-navigate]")) { location.href = t.value; }
  });
  // Tonight opens where the evening is: the timeline scrolled to the "now" line.
  document.addEventListener("DOMContentLoaded", function () {
    var book = document.querySelector(".book"), now = book && book.querySelector(".now");
    if (now) { book.scrollLeft = Math.max(0, now.getBoundingClientRect().left - book.getBoundingClientRect().left - 160); }
  });
  // While the book cannot be reached (503: the database is away; status 0: no answer at all) the desk says
  // "offline" and keeps what it shows: htmx swaps no 5xx (responseHandling in desk/base.html), and the board's
  // poll goes on and takes the word away once it is answered. An action that failed says so: it was not done.
  // The words come from the page (#offline, #action-failed), translated by the server.
  function offline(on) {
    var o = document.getElementById("offline");
    if (o) { o.hidden = !on; }
  }
  document.addEventListener("htmx:afterRequest", function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    if (e.detail.successful) { offline(false); return; }
    if (status !== 503 && status !== 0) { return; }
    offline(true);
    if (e.detail.elt && e.detail.elt.id === "board") { return; }
    var toast = document.getElementById("toast"), failed = document.getElementById("action-failed");
    if (toast && failed) {
      toast.replaceChildren(failed.content.cloneNode(true));
      toast.className = "toast error";
      toast.setAttribute("role", "alert");
      toast.setAttribute("data-testid", "toast");
    }
  });
  // The board is redrawn every few seconds: keep the host's place in a timeline scrolled sideways.
  var kept = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var book = e.detail.target.id === "board" && e.detail.target.querySelector(".book");
    kept = book ? [book.scrollLeft, book.scrollTop] : null;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var book = e.detail.target.id === "board" && e.detail.target.querySelector(".book");
    if (book && kept) { book.scrollLeft = kept[0]; book.scrollTop = kept[1]; }
  });
})();
