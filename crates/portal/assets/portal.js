// Gatehouse developer portal: small progressive enhancements. Every page works without it.
//
// - A button with `data-copy="<element id>"` copies that element's text to the clipboard and
//   says so in its own label for two seconds (and in the live region `data-copy-status`).
// - A form with `data-confirm="<question>"` asks before it is submitted.
"use strict";
(function () {
  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) {
      return;
    }
    var label = button.textContent;
    navigator.clipboard.writeText(target.textContent.trim()).then(function () {
      button.textContent = "Copied";
      var status = document.getElementById(button.getAttribute("data-copy-status") || "");
      if (status) {
        status.textContent = "Copied to the clipboard.";
      }
      window.setTimeout(function () {
        button.textContent = label;
      }, 2000);
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // Copy buttons are hidden until this script runs (they do nothing without it).
  document.documentElement.classList.add("js");
})();
