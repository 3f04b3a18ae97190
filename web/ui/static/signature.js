// gridcase: a signature drawn with a finger (or a mouse) on a canvas, posted as a PNG data URL.
// A file of its own because the CSP allows scripts from the app only, never inline.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("canvas[data-signature]").forEach((canvas) => {
    const form = canvas.closest("form");
    const field = form.querySelector(`input[name="${canvas.dataset.signature}"]`);
    const pen = canvas.getContext("2d");
    pen.lineWidth = 4;
    pen.lineCap = "round";
    pen.lineJoin = "round";
    pen.strokeStyle = "#000";
    let drawing = false;
    let drawn = false;
    const at = (event) => {
      const box = canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
    };
    canvas.style.touchAction = "none"; // the finger draws instead of scrolling the page
    canvas.addEventListener("pointerdown", (event) => {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      pen.beginPath();
      pen.moveTo(...at(event));
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      pen.lineTo(...at(event));
      pen.stroke();
      drawn = true;
    });
    const stop = () => { drawing = false; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    const clear = form.querySelector("[data-clear-signature]");
    if (clear) {
      clear.addEventListener("click", () => {
        pen.clearRect(0, 0, canvas.width, canvas.height);
        drawn = false;
        field.value = "";
      });
    }
    form.addEventListener("submit", () => {
      if (drawn) field.value = canvas.toDataURL("image/png");
    });
  });
});
