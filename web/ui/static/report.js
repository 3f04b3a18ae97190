// Residents' report (/report, /kiosk): the building list follows the compound; the touch screen starts
// again by itself after a while without a touch, forgetting everything typed.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const compound = document.getElementById("compound");
  const building = document.getElementById("building");
  const map = document.getElementById("building-compounds");
  if (compound && building && map) {
    const compoundOf = {};
    map.querySelectorAll("option").forEach((o) => { compoundOf[o.value] = o.label; });
    const filter = () => {
      Array.from(building.options).forEach((option) => {
        const show = !option.value || !compound.value || compoundOf[option.value] === compound.value;
        option.hidden = !show;
        option.disabled = !show;
      });
      const chosen = building.options[building.selectedIndex];
      if (chosen && chosen.disabled) building.value = "";
    };
    building.addEventListener("change", () => {
      if (building.value && compoundOf[building.value]) compound.value = compoundOf[building.value];
    });
    compound.addEventListener("change", filter);
    filter();
  }
  const danger = document.getElementById("danger");
  const call = document.getElementById("danger-call");
  if (danger && call) {
    const mark = () => call.classList.toggle("urgent", danger.checked);
    danger.addEventListener("change", () => { mark(); if (danger.checked) call.scrollIntoView({ behavior: "smooth" }); });
    mark();
  }
  // The touch screen: after data-idle-seconds without a touch, go back to the start with nothing kept.
  const body = document.body;
  if (body.classList.contains("kiosk")) {
    const seconds = Number(body.dataset.idleSeconds || "120");
    let timer = 0;
    const reset = () => {
      document.querySelectorAll("form").forEach((form) => form.reset());
      window.location.replace(body.dataset.startUrl);
    };
    const touched = () => { window.clearTimeout(timer); timer = window.setTimeout(reset, seconds * 1000); };
    ["pointerdown", "keydown", "input", "touchstart", "scroll"].forEach((name) => {
      document.addEventListener(name, touched, { passive: true, capture: true });
    });
    touched();
  }
});
