// The drop zone itself: a focusable button-like region that opens the file picker on click,
// Enter or Space, and highlights while files are dragged over it.

import { el, setAttr } from "./cards.js";

/**
 * Counts dragenter/dragleave pairs, so that crossing a child element (the prompt text) does
 * not switch the highlight off: the browser sends dragleave for the zone, then dragenter for
 * the child.
 */
export class DragDepth {
  constructor() {
    this.depth = 0;
  }
  /** @returns {boolean} whether the zone is highlighted now */
  enter() {
    this.depth += 1;
    return this.active;
  }
  leave() {
    this.depth = Math.max(0, this.depth - 1);
    return this.active;
  }
  reset() {
    this.depth = 0;
    return false;
  }
  get active() {
    return this.depth > 0;
  }
}

/** Keys that press a button. @param {KeyboardEvent} event */
export function isPress(event) {
  return event.key === "Enter" || event.key === " " || event.key === "Spacebar";
}

/**
 * Build the zone; `choose(files)` gets what was dropped or picked, unless `blocked()` says no.
 * @param {import("./model.js").Config} config
 * @param {{choose: (files: File[]) => void, blocked: () => boolean}} hooks
 */
export function buildDropZone(config, { choose, blocked }) {
  const zone = el("div", "aurous-drop");
  zone.tabIndex = 0;
  zone.setAttribute("role", "button");
  // JupyterLab's command mode binds Enter (edit the cell) at the document, before this element
  // sees the key; this attribute tells its shortcut handler to leave keys here alone
  zone.dataset.lmSuppressShortcuts = "true";
  const input = /** @type {HTMLInputElement} */ (el("input", "aurous-file-input"));
  input.type = "file";
  input.multiple = true;
  input.accept = config.accept;
  input.tabIndex = -1; // the zone takes the focus; the input is only the picker
  input.setAttribute("aria-hidden", "true");
  const prompt = el("span", "aurous-drop-text");
  const range = config.max_refs > 1 ? `1–${config.max_refs}` : "1";
  prompt.append(
    el("strong", null, `Drop ${range} reference images here`),
    el("span", null, ` or click, or press Enter, to choose (${config.types})`),
  );
  zone.setAttribute("aria-label", `Add reference images (${config.types}): press Enter to choose files`);
  zone.append(input, prompt);

  const drag = new DragDepth();
  const open = () => {
    if (!blocked()) input.click();
  };
  zone.addEventListener("click", (event) => {
    if (event.target !== input) open();
  });
  zone.addEventListener("keydown", (event) => {
    if (isPress(event)) {
      event.preventDefault();
      open();
    }
  });
  input.addEventListener("change", () => {
    const files = Array.from(input.files || []);
    input.value = ""; // choosing the same file again fires change again
    if (!blocked()) choose(files);
  });
  const swallow = (/** @type {DragEvent} */ event) => {
    event.preventDefault();
    event.stopPropagation();
  };
  zone.addEventListener("dragenter", (event) => {
    swallow(event);
    zone.classList.toggle("aurous-over", drag.enter() && !blocked());
  });
  zone.addEventListener("dragover", (event) => {
    swallow(event);
    if (event.dataTransfer) event.dataTransfer.dropEffect = blocked() ? "none" : "copy";
  });
  zone.addEventListener("dragleave", (event) => {
    swallow(event);
    zone.classList.toggle("aurous-over", drag.leave());
  });
  zone.addEventListener("drop", (event) => {
    swallow(event);
    zone.classList.toggle("aurous-over", drag.reset());
    const files = Array.from(event.dataTransfer ? event.dataTransfer.files : []);
    if (!blocked()) choose(files);
  });
  return {
    zone,
    input,
    /** @param {boolean} off */
    setBlocked(off) {
      if (input.disabled !== off) input.disabled = off;
      setAttr(zone, "aria-disabled", String(off));
      const tab = off ? -1 : 0;
      if (zone.tabIndex !== tab) zone.tabIndex = tab;
      if (off && zone.classList.contains("aurous-over")) zone.classList.remove("aurous-over");
    },
  };
}
