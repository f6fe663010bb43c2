// opsdesk: keyboard shortcuts for people who work fast. "/" focuses search.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const field = document.querySelector(`[data-hotkey="${event.key}"]`);
  if (field) {
    event.preventDefault();
    field.focus();
  }
});
