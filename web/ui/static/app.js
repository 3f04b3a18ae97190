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
  // New case: refuse too many or too large photos before sending, so nothing typed is lost to a 413.
  const photos = document.querySelector("input[type=file][data-max-bytes]");
  if (photos) {
    const note = document.createElement("small");
    note.className = "error";
    note.id = "photo-check";
    note.setAttribute("role", "alert");
    photos.insertAdjacentElement("afterend", note);
    const check = () => {
      const files = Array.from(photos.files || []);
      let problem = "";
      if (files.length > Number(photos.dataset.maxFiles)) {
        problem = photos.dataset.tooMany;
      } else {
        const big = files.find((f) => f.size > Number(photos.dataset.maxBytes));
        if (big) problem = photos.dataset.tooLarge.replace("{name}", big.name);
      }
      note.textContent = problem;
      photos.setAttribute("aria-invalid", problem ? "true" : "false");
      return !problem;
    };
    photos.addEventListener("change", check);
    photos.form.addEventListener("submit", (event) => {
      if (!check()) { event.preventDefault(); photos.focus(); }
    });
  }
  // Slip: print button.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
