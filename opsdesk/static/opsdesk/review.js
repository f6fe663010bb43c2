// Order review: keyboard shortcuts for the queue and the order page. Keys are ignored while
// typing in a field (Escape leaves the field) and with Ctrl, Cmd or Alt held.
//
// Queue:       j / k  next / previous row      Enter or o  open it      a  approve it
//              h      open it to hold          x           tick it for bulk approval
// Order page:  a  approve      h  hold (focus the reason)      c  comment
//              j / k  next / previous order waiting for review
(() => {
  const rows = () => Array.from(document.querySelectorAll("[data-order-row]"));
  let current = -1;

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => {
      row.classList.toggle("table-active", i === current);
      row.setAttribute("aria-selected", i === current ? "true" : "false");
    });
    const row = all[current];
    row.scrollIntoView({ block: "nearest" });
    const link = row.querySelector("[data-row-link]");
    if (link) link.focus({ preventScroll: true });
  }

  function selectedRow() {
    const all = rows();
    if (current < 0 || current >= all.length) return null;
    // htmx replaces an approved row: find it again by position.
    return all[current];
  }

  function href(row) {
    const link = row && row.querySelector("[data-row-link]");
    return link ? link.getAttribute("href") : "";
  }

  function queueKey(key) {
    const row = selectedRow();
    switch (key) {
      case "j":
        select(current + 1);
        return true;
      case "k":
        select(current < 0 ? 0 : current - 1);
        return true;
      case "Enter":
      case "o":
        if (href(row)) window.location.assign(href(row));
        return Boolean(href(row));
      case "a": {
        const button = row && row.querySelector("[data-row-approve]");
        if (button) button.click();
        return Boolean(button);
      }
      case "h":
        if (href(row)) window.location.assign(`${href(row)}#hold`);
        return Boolean(href(row));
      case "x": {
        const box = row && row.querySelector("input[type=checkbox]");
        if (box) box.checked = !box.checked;
        return Boolean(box);
      }
      default:
        return false;
    }
  }

  function pageKey(key) {
    if (!["a", "h", "c", "j", "k"].includes(key)) return false;
    const element = document.querySelector(`[data-shortcut="${key}"]`);
    if (!element) return false;
    if (typing(element)) {
      element.focus();
    } else {
      element.click();
    }
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    // Enter on a focused link or button does what it always does.
    if (event.key === "Enter" && event.target instanceof HTMLElement &&
        ["A", "BUTTON"].includes(event.target.tagName) && !event.target.dataset.rowLink) return;
    const handled = rows().length ? queueKey(event.key) : pageKey(event.key);
    if (handled) event.preventDefault();
  });

  // Arriving from the queue with "h": the hold reason is ready for typing.
  function focusHold() {
    if (window.location.hash !== "#hold") return;
    const reason = document.querySelector('[data-shortcut="h"]');
    if (reason) reason.focus();
  }
  // After "load": scrolling to the fragment would take the focus away again.
  if (document.readyState === "complete") {
    focusHold();
  } else {
    window.addEventListener("load", focusHold);
  }
})();
