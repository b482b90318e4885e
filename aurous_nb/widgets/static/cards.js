// The reference cards: what each card says (cardView, pure) and its DOM (CardView).
//
// Every string that comes from a file name, the kernel or the server reaches the page through
// textContent or an attribute, never as markup.

import { expiryText, fill, formatDuration, formatSize } from "./format.js";

/**
 * What one card shows, worked out from the kernel's card, the browser's own transfer of the
 * file (if this view is sending it) and the time.
 * @param {import("./model.js").Card} card
 * @param {Object} ctx
 * @param {number} ctx.now  epoch ms
 * @param {import("./model.js").Config} ctx.config
 * @param {import("./transfers.js").Outgoing} [ctx.transfer]
 * @param {boolean} [ctx.offline]  the kernel is gone: nothing can be removed or retried
 */
export function cardView(card, { now, config, transfer, offline = false }) {
  const phrases = config.phrases || {};
  const labels = config.state_labels || {};
  const name = card.name || "";
  let state = card.state;
  let label = card.label || labels[state] || state;
  let progress = Number(card.progress) || 0;
  let size = formatSize(card.size);
  const sending = transfer && !transfer.stopped && !transfer.done && card.size > 0;
  if (sending && (state === "waiting" || state === "receiving")) {
    // the kernel has acknowledged `received` bytes; before its first ack it may simply be busy
    state = transfer.received > 0 || state === "receiving" ? "receiving" : "waiting";
    label = labels[state] || state;
    progress = (0.25 * transfer.received) / card.size;
    size = fill(phrases.sent, `${formatSize(transfer.received)} of ${formatSize(card.size)}`);
  }
  progress = Math.min(1, Math.max(0, progress));
  let countdown = "";
  let countdownTitle = "";
  if (card.expires_kind && card.expires_at) {
    countdown = expiryText(config.expiry_phrases, card.expires_kind, (card.expires_at - now) / 1000);
    countdownTitle = (config.expiry_help || {})[card.expires_kind] || "";
  }
  let wait = "";
  if (card.wait_until && card.wait_until > now) {
    wait = fill(phrases.rate_wait, formatDuration(Math.ceil((card.wait_until - now) / 1000)));
  }
  let pose = "";
  if (card.pose) {
    const conf = card.confidence != null ? ` · ${Math.round(card.confidence * 100)}%` : "";
    pose = `${card.pose}${conf}`;
  }
  return {
    id: card.id,
    name,
    state,
    label,
    progress,
    percent: Math.round(progress * 100),
    size,
    pose,
    countdown,
    countdownTitle,
    wait,
    notice: card.notice || "",
    error: card.error || "",
    failed: state === "failed",
    inCharacter: state === "consumed",
    retryable: !offline && Boolean(card.retryable),
    removable: !offline && card.removable !== false,
  };
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Every write below happens only when the value changes: JupyterLab watches its notebook's
// DOM, and the cards are redrawn on every ack and every second (the countdowns).

/** @param {HTMLElement} node @param {boolean} hidden */
export function setHidden(node, hidden) {
  if (node.hidden !== hidden) node.hidden = hidden;
}

/** @param {HTMLElement} node @param {string} text */
function setText(node, text) {
  const value = text || "";
  if (node.textContent !== value) node.textContent = value;
  setHidden(node, !value);
}

/** @param {HTMLElement} node @param {string} name @param {string} value */
export function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** @param {HTMLElement} node @param {string} name @param {boolean} on */
function setClass(node, name, on) {
  if (node.classList.contains(name) !== on) node.classList.toggle(name, on);
}

/** One card's DOM; `update` puts a `cardView` into it. */
export class CardView {
  /**
   * @param {string} id
   * @param {{remove: (id: string) => void, retry: (id: string) => void}} actions
   */
  constructor(id, actions) {
    this.id = id;
    const card = el("div", "aurous-card");
    card.dataset.id = id;
    card.setAttribute("role", "listitem");
    const remove = el("button", "aurous-remove", "×");
    remove.type = "button";
    remove.addEventListener("click", () => actions.remove(id));
    const thumb = el("div", "aurous-thumb");
    const img = /** @type {HTMLImageElement} */ (el("img"));
    img.alt = "";
    thumb.append(img);
    const body = el("div", "aurous-card-body");
    const name = el("div", "aurous-name");
    const size = el("div", "aurous-size");
    const state = el("div", "aurous-state");
    const bar = el("div", "aurous-bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    const fillBar = el("div", "aurous-bar-fill");
    bar.append(fillBar);
    const pose = el("div", "aurous-pose");
    const countdown = el("div", "aurous-countdown");
    const wait = el("div", "aurous-wait");
    const notice = el("div", "aurous-card-notice");
    const error = el("div", "aurous-error");
    const retry = el("button", "aurous-retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => actions.retry(id));
    body.append(name, size, state, bar, pose, countdown, wait, notice, error, retry);
    card.append(remove, thumb, body);
    this.node = card;
    this.parts = { remove, img, name, size, state, bar, fillBar, pose, countdown, wait, notice, error, retry };
  }

  /**
   * @param {ReturnType<typeof cardView>} view
   * @param {string} [src]  the thumbnail (the kernel's, or the browser's own preview)
   */
  update(view, src) {
    const p = this.parts;
    const card = this.node;
    setAttr(card, "data-state", view.state);
    setClass(card, "aurous-failed", view.failed);
    setClass(card, "aurous-in-character", view.inCharacter);
    if (src && p.img.getAttribute("src") !== src) p.img.src = src;
    setHidden(p.img, !src);
    setText(p.name, view.name);
    setAttr(p.name, "title", view.name);
    setText(p.size, view.size);
    setText(p.state, view.label);
    setAttr(p.bar, "aria-valuenow", String(view.percent));
    setAttr(p.bar, "aria-valuetext", view.label);
    setAttr(p.bar, "aria-label", `${view.name}: progress`);
    const width = `${view.percent}%`;
    if (p.fillBar.style.width !== width) p.fillBar.style.width = width;
    setText(p.pose, view.pose);
    if (view.pose) setAttr(p.pose, "data-pose", view.pose.split(" ")[0]);
    setText(p.countdown, view.countdown);
    setAttr(p.countdown, "title", view.countdownTitle);
    setText(p.wait, view.wait);
    setText(p.notice, view.notice);
    setText(p.error, view.error);
    setHidden(p.retry, !view.retryable);
    setAttr(p.retry, "aria-label", `Retry ${view.name}`);
    setHidden(p.remove, !view.removable);
    setAttr(p.remove, "aria-label", `Remove ${view.name}`);
    setAttr(p.remove, "title", `Remove ${view.name}`);
  }
}
