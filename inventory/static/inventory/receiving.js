// Receiving screen: a barcode scanner types a code and Enter many times a second. Each code
// is taken from the input at once (so the next scan starts in an empty field), queued, and
// sent one after another with htmx, so no scan is lost or counted out of order. Without
// JavaScript the same forms post normally.
(() => {
  const form = document.querySelector("[data-scan-form]");
  if (!form || typeof htmx === "undefined") return;
  const input = form.querySelector("input[name=code]");
  const target = form.dataset.target;
  const pendingLabel = document.querySelector("[data-scan-pending]");
  let queue = Promise.resolve();
  let pending = 0;
  let audio = null;

  function showPending() {
    if (pendingLabel) pendingLabel.textContent = pending ? `Sending ${pending} scan(s)…` : "";
  }

  function beep() {
    // A low double tone for a code that is not on the order: staff look up at the screen.
    try {
      audio = audio || new AudioContext();
      [0, 0.25].forEach((offset) => {
        const tone = audio.createOscillator();
        const gain = audio.createGain();
        tone.frequency.value = 220;
        gain.gain.value = 0.2;
        tone.connect(gain).connect(audio.destination);
        tone.start(audio.currentTime + offset);
        tone.stop(audio.currentTime + offset + 0.18);
      });
    } catch (error) {
      // No audio: the red banner still shows.
    }
  }

  function send(url, values) {
    pending += 1;
    showPending();
    queue = queue
      .then(() => htmx.ajax("POST", url, { target, swap: "outerHTML", values }))
      .catch(() => {
        if (pendingLabel) pendingLabel.textContent = "A scan could not be sent; check the counts.";
      })
      .finally(() => {
        pending -= 1;
        showPending();
        const panel = document.querySelector(target);
        if (panel && ["unknown", "not_on_order"].includes(panel.dataset.outcome)) beep();
      });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value.trim();
    input.value = "";
    input.focus();
    if (!code) return;
    const values = Object.fromEntries(new FormData(form));
    values.code = code;
    send(form.action, values);
  });

  document.addEventListener("submit", (event) => {
    const adjust = event.target.closest("[data-queue-form]");
    if (adjust) {
      event.preventDefault();
      send(adjust.action, Object.fromEntries(new FormData(adjust, event.submitter)));
      input.focus();
      return;
    }
    const post = event.target.closest("[data-after-queue]");
    if (post && pending) {
      // Post only once every scan sent so far is counted.
      // The panel (and this form) is replaced as the scans land: submit its newest copy.
      event.preventDefault();
      const which = post.dataset.afterQueue;
      post.querySelectorAll("button").forEach((button) => (button.disabled = true));
      queue.then(() => {
        const current = document.querySelector(`[data-after-queue="${which}"]`);
        if (current) current.submit();
      });
    }
  });
})();
