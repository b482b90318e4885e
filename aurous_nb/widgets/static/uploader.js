// The uploader's drop zone and reference cards (the entry module anywidget loads).
//
// aurous_nb/widgets/_esm.py joins this file and the modules it imports into one module when
// Python loads it (anywidget imports `_esm` from a blob URL, where relative imports do not
// resolve); in Node the files are imported as they are (tests/widgets/js/).
//
// What it does: sends each chosen file to the kernel (transfers.js), renders the cards the
// kernel syncs back and ticks their countdowns here, from absolute epochs, so they keep moving
// while a cell blocks the kernel (cards.js, format.js); announces changes in one polite live
// region (announce.js); and once the kernel is gone says so in one line and refuses drops
// (connection.js).

import { Announcer, changes } from "./announce.js";
import { CardView, cardView, el, setHidden } from "./cards.js";
import { recordHider, watchConnection } from "./connection.js";
import { buildDropZone } from "./dropzone.js";
import { Sender } from "./transfers.js";

const PREVIEW_LIMIT = 64 * 1024 * 1024; // no object-URL preview of bigger files
const PREVIEW_AFTER = 1500; // ms after its last byte left without the kernel's thumbnail

/**
 * @param {{model: import("./model.js").Model, el: HTMLElement}} args
 * @returns {() => void} cleanup
 */
function render({ model, el: root }) {
  const config = model.get("config");
  const phrases = config.phrases || {};
  /** @type {Map<string, CardView>} */
  const views = new Map();
  /** @type {Map<string, string>} card id -> object URL shown until the kernel's thumbnail */
  const previews = new Map();
  /** @type {Map<string, import("./announce.js").Said>} */
  let said = new Map();
  let alive = true;
  const records = recordHider(model.get("record_id"));

  const host = root.closest(".aurous-uploader") || root;
  host.classList.add("aurous-js"); // hides the no-JS fallback at once (CSS)
  if (!model.get("js_ready")) {
    model.set("js_ready", true);
    model.save_changes();
  }

  const box = el("div", "aurous-dropzone");
  const offlineLine = el("div", "aurous-offline-line", phrases.offline);
  offlineLine.hidden = true;
  const notice = el("div", "aurous-notice-line");
  const grid = el("div", "aurous-cards");
  grid.setAttribute("role", "list");
  grid.setAttribute("aria-label", "Reference images");
  const region = el("div", "aurous-sr-only");
  const announcer = new Announcer(region);

  const sender = new Sender({
    send: (content, buffers) => model.send(content, undefined, buffers),
    messageBytes: config.message_bytes,
    window: config.window,
    changed: () => schedule(),
  });

  const drop = buildDropZone(config, {
    choose,
    blocked: () => !alive || connection.offline || model.get("disabled"),
  });
  box.append(offlineLine, drop.zone, notice, grid, region);
  root.append(box);

  /** @param {File[]} files */
  function choose(files) {
    if (!files.length) return;
    sender.add(files);
    update();
  }

  /**
   * The browser's own preview of a file, if the kernel's thumbnail is slow to come (a slow
   * link, a busy kernel). Not sooner: decoding a phone photo for an <img> reads and decodes
   * the whole file, which on a fast link only competes with the transfer for the machine.
   * @param {string} id
   * @param {Record<string, string>} thumbs
   */
  function preview(id, thumbs) {
    if (thumbs[id]) return thumbs[id];
    const t = sender.transfers.get(id);
    const due = t && !t.stopped && t.sentAt && Date.now() - t.sentAt > PREVIEW_AFTER;
    if (!previews.has(id) && due && t.size < PREVIEW_LIMIT) {
      previews.set(id, URL.createObjectURL(t.file));
    }
    return previews.get(id);
  }

  const connection = watchConnection(
    root,
    (offline) => {
      if (offline) announcer.say(phrases.offline);
      update();
    },
    model.widget_manager,
  );

  function localCards() {
    // files the kernel has not acknowledged yet (it may be busy running a cell)
    const known = new Set(model.get("cards").map((c) => c.id));
    const out = [];
    for (const t of [...sender.transfers.values()]) {
      if (known.has(t.id)) continue;
      if (t.stopped || t.done) {
        sender.transfers.delete(t.id); // the kernel has its card no more (removed, New character)
        continue;
      }
      out.push({
        id: t.id,
        name: t.file.name || "image",
        size: t.size,
        state: "waiting",
        label: "",
        progress: 0,
        removable: true,
      });
    }
    return out;
  }

  function remove(id) {
    sender.forget(id);
    model.send({ type: "remove", id });
    forgetPreview(id);
    const view = views.get(id);
    if (view) {
      view.node.remove();
      views.delete(id);
    }
    update();
  }

  function retry(id) {
    model.send({ type: "retry", id });
  }

  function forgetPreview(id) {
    const url = previews.get(id);
    if (url) URL.revokeObjectURL(url);
    previews.delete(id);
  }

  let pending = false;
  function schedule() {
    // progress from acks arrives fast; one redraw per frame is plenty
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      update();
    });
  }

  function update() {
    if (!alive) return;
    const offline = connection.offline;
    const disabled = offline || model.get("disabled");
    const created = model.get("status") === "created";
    if (host.classList.contains("aurous-offline") !== offline) {
      host.classList.toggle("aurous-offline", offline);
    }
    if (box.classList.contains("aurous-disabled") !== disabled) {
      box.classList.toggle("aurous-disabled", disabled);
    }
    if (box.classList.contains("aurous-created") !== created) {
      box.classList.toggle("aurous-created", created);
    }
    drop.setBlocked(disabled);
    setHidden(offlineLine, !offline);
    const noticeText = offline ? "" : model.get("notice");
    if (notice.textContent !== noticeText) {
      notice.textContent = noticeText;
      if (noticeText) announcer.say(noticeText);
    }
    setHidden(notice, !noticeText);
    records.set(!offline);

    const thumbs = model.get("thumbs") || {};
    const cards = [...model.get("cards"), ...localCards()];
    const now = Date.now();
    const seen = new Set();
    const nowSaid = new Map();
    cards.forEach((card, index) => {
      seen.add(card.id);
      let view = views.get(card.id);
      if (!view) {
        view = new CardView(card.id, { remove, retry });
        views.set(card.id, view);
      }
      const v = cardView(card, { now, config, transfer: sender.transfers.get(card.id), offline });
      view.update(v, preview(card.id, thumbs));
      if (grid.children[index] !== view.node) grid.insertBefore(view.node, grid.children[index] || null);
      if (thumbs[card.id]) forgetPreview(card.id);
      nowSaid.set(card.id, { name: v.name, state: v.state, label: v.label, pose: v.pose, error: v.error });
    });
    for (const [id, view] of views) {
      if (!seen.has(id)) {
        view.node.remove();
        views.delete(id);
        forgetPreview(id);
      }
    }
    announcer.say(...changes(said, nowSaid));
    said = nowSaid;
  }

  /** @param {unknown} msg */
  function onMessage(msg) {
    if (sender.handle(/** @type {any} */ (msg))) schedule();
  }

  let lastStatus = model.get("status");
  function onStatus() {
    const status = model.get("status");
    if (status === lastStatus) return;
    lastStatus = status;
    if (status === "creating") announcer.say(phrases.creating);
    if (status === "created") announcer.say(`${phrases.created} ${model.get("result")}`.trim());
  }

  const events = {
    "msg:custom": onMessage,
    "change:cards": update,
    "change:thumbs": update,
    "change:notice": update,
    "change:disabled": update,
    "change:status": () => {
      onStatus();
      update();
    },
  };
  for (const [name, fn] of Object.entries(events)) model.on(name, fn);
  const timer = setInterval(update, 1000); // the countdowns
  update();

  return () => {
    alive = false;
    clearInterval(timer);
    sender.close();
    announcer.close();
    connection.close();
    records.remove();
    for (const url of previews.values()) URL.revokeObjectURL(url);
    for (const [name, fn] of Object.entries(events)) model.off(name, fn);
  };
}

export default { render };
