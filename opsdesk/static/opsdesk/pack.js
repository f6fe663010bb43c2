// The pack screen and print pages. The scan field keeps the focus and is emptied as soon as
// a code is taken, so a scanner can go on typing while the answer comes. A refused scan flashes the panel red (no sound) and stays listed under it, so
// a quick next scan does not hide it.
(() => {
  const scanField = () => document.querySelector("[data-scan-form] input[name=code]");

  const sizeBars = () => {
    document.querySelectorAll("[data-width]").forEach((bar) => {
      const [done, total] = bar.dataset.width.split("/").map(Number);
      bar.style.width = total ? `${Math.round((100 * done) / total)}%` : "0%";
    });
  };

  const flash = (panel) => {
    let blinks = 0;
    const timer = setInterval(() => {
      panel.classList.toggle("text-bg-danger");
      blinks += 1;
      if (blinks >= 6) {
        clearInterval(timer);
        panel.classList.remove("text-bg-danger");
      }
    }, 150);
  };

  const logRefusal = (text) => {
    const log = document.querySelector("[data-scan-log]");
    if (!log) return;
    const item = document.createElement("li");
    item.className = "alert alert-danger py-1 mb-1";
    item.setAttribute("data-refused-scan", "");
    item.textContent = `${new Date().toLocaleTimeString()}: ${text}`;
    log.prepend(item);
  };

  const refresh = () => {
    sizeBars();
    const panel = document.querySelector("[data-pack-panel]");
    const warning = panel && panel.querySelector("[data-pack-warning]");
    if (warning) {
      flash(panel);
      logRefusal(warning.textContent.trim());
    }
    const field = scanField();
    if (field && document.activeElement !== field) field.focus();
  };

  document.addEventListener("DOMContentLoaded", () => {
    sizeBars();
    const field = scanField();
    if (field) field.focus();
  });
  // Each scan is taken from the field at once (the field is emptied for the next one) and
  // sent after the previous answer arrived, so fast scans are neither lost nor reordered.
  let pending = Promise.resolve();
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target.closest && event.target.closest("[data-scan-form]");
      if (!form || !window.htmx) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      const field = scanField();
      const code = field ? field.value.trim() : "";
      if (field) field.value = "";
      if (!code) return;
      const token = form.querySelector("[name=csrfmiddlewaretoken]");
      const send = () =>
        window.htmx.ajax("POST", form.getAttribute("action"), {
          source: document.body,
          target: "#pack-panel",
          swap: "outerHTML",
          values: { code, csrfmiddlewaretoken: token ? token.value : "" },
        });
      pending = pending.then(send, send);
    },
    true,
  );
  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
})();
