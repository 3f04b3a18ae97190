// gridcase pages: small behaviours without inline script (the CSP allows only files from the app).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // New case: suggest the severity of the chosen category unless the leader picked one.
  const category = document.querySelector("[data-suggests=severity]");
  const severity = document.getElementById("severity");
  const map = document.getElementById("severity-map");
  if (category && severity && map) {
    const hint = severity.parentElement.querySelector("small");
    const suggest = () => {
      const option = map.querySelector(`option[value="${category.value}"]`);
      if (option && hint) hint.dataset.suggested = option.textContent;
      if (option && severity.dataset.touched !== "1") {
        severity.value = option.textContent;
      }
    };
    severity.addEventListener("change", () => { severity.dataset.touched = "1"; });
    category.addEventListener("change", suggest);
    suggest();
  }
  // Slip: print button.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
