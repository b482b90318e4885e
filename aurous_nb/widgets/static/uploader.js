// aurous_nb uploader drop zone (anywidget ES module, no build step).
//
// Sends every chosen file to the kernel on its own, in 1 MiB binary chunks with
// a small window of unacknowledged chunks, so a selection of six 8 MB photos
// never becomes one huge websocket message. Renders the cards the kernel syncs
// back (`cards`, `thumbs`) and ticks their expiry countdowns here, in the
// browser, from absolute epochs: they keep moving while a cell blocks the kernel.
//
// Every string that comes from a file name, the kernel or the server is put in
// the page with textContent, never innerHTML.

const CHUNK = 1024 * 1024; // bytes per chunk message
const WINDOW = 4; // chunks in flight per file before waiting for an ack

const STATE_TEXT = {
  waiting: "waiting for the kernel",
  receiving: "sending to the kernel",
  queued: "queued",
  checked: "checked",
  minted: "upload URL minted",
  uploading: "uploading",
  uploaded: "classifying",
  classified: "classified",
  consumed: "used by the character",
  failed: "failed",
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

// "14:32" below an hour, "23:59:12" above; "expired" at or past zero.
export function formatLeft(ms) {
  if (!(ms > 0)) return "expired";
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (v) => String(v).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

function countdownText(card, now) {
  if (!card.expires_at) return "";
  const left = card.expires_at - now;
  const what = card.expires_label || "valid";
  return left > 0 ? `${what} valid ${formatLeft(left)}` : `${what} expired`;
}

function newId(i) {
  const rand = Math.random().toString(36).slice(2, 10);
  return `f${Date.now().toString(36)}${rand}${i}`;
}

// One transfer per chosen file. Acks from the kernel open the window again.
class Transfer {
  constructor(file, id) {
    this.file = file;
    this.id = id;
    this.sent = 0; // chunks sent
    this.acked = 0; // chunks the kernel has written to disk
    this.received = 0; // bytes the kernel has written
    this.stopped = null; // reason string once the kernel refused or the user removed it
    this.wake = null;
  }
  notify() {
    if (this.wake) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
  }
  waitForWindow() {
    if (this.stopped || this.sent - this.acked < WINDOW) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}

function render({ model, el: root }) {
  const transfers = new Map(); // id -> Transfer (files this view is sending)
  const previews = new Map(); // id -> object URL shown until the kernel's thumbnail arrives
  const nodes = new Map(); // id -> card DOM parts
  let queue = Promise.resolve(); // files are streamed one after another
  let alive = true;

  // Tell the surrounding uploader that custom JS runs here: hide the fallback
  // message at once (CSS) and tell the kernel (the js_ready trait).
  const host = root.closest(".aurous-uploader");
  if (host) host.classList.add("aurous-js");
  if (!model.get("js_ready")) {
    model.set("js_ready", true);
    model.save_changes();
  }

  const box = el("div", "aurous-dropzone");
  const zone = el("label", "aurous-drop");
  const input = el("input", "aurous-file-input");
  input.type = "file";
  input.multiple = true;
  input.accept = model.get("accept");
  const prompt = el("span", "aurous-drop-text");
  const strong = el("strong", null, "Drop 1–6 reference images here");
  prompt.append(strong, el("span", null, " or click to choose (JPEG, PNG, WebP)"));
  zone.append(input, prompt);
  const notice = el("div", "aurous-notice-line");
  const grid = el("div", "aurous-cards");
  box.append(zone, notice, grid);
  root.append(box);

  function localCards() {
    // Cards for files the kernel has not acknowledged yet (it may be busy).
    const known = new Set(model.get("cards").map((c) => c.id));
    const out = [];
    for (const t of transfers.values()) {
      if (!known.has(t.id) && !t.stopped) {
        out.push({
          id: t.id,
          name: t.file.name,
          size: t.file.size,
          state: "waiting",
          label: STATE_TEXT.waiting,
          progress: 0,
          removable: true,
        });
      }
    }
    return out;
  }

  function buildCard(id) {
    const card = el("div", "aurous-card");
    card.dataset.id = id;
    const remove = el("button", "aurous-remove", "×");
    remove.type = "button";
    remove.title = "Remove this image";
    remove.setAttribute("aria-label", "Remove this image");
    remove.addEventListener("click", () => {
      const t = transfers.get(id);
      if (t) {
        t.stopped = "removed";
        t.notify();
      }
      model.send({ type: "remove", id });
      forget(id);
      update();
    });
    const thumbBox = el("div", "aurous-thumb");
    const img = el("img");
    img.alt = "";
    thumbBox.append(img);
    const name = el("div", "aurous-name");
    const size = el("div", "aurous-size");
    const state = el("div", "aurous-state");
    const bar = el("div", "aurous-bar");
    const fill = el("div", "aurous-bar-fill");
    bar.append(fill);
    const pose = el("div", "aurous-pose");
    const countdown = el("div", "aurous-countdown");
    const note = el("div", "aurous-card-notice");
    const error = el("div", "aurous-error");
    const retry = el("button", "aurous-retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => model.send({ type: "retry", id }));
    const body = el("div", "aurous-card-body");
    body.append(name, size, state, bar, pose, countdown, note, error, retry);
    card.append(remove, thumbBox, body);
    const parts = { card, img, name, size, state, fill, pose, countdown, note, error, retry };
    nodes.set(id, parts);
    return parts;
  }

  function forget(id) {
    const url = previews.get(id);
    if (url) URL.revokeObjectURL(url);
    previews.delete(id);
    transfers.delete(id);
  }

  function setText(node, text) {
    const value = text || "";
    if (node.textContent !== value) node.textContent = value;
    node.hidden = !value;
  }

  function fillCard(parts, c, thumbs) {
    const { card, img } = parts;
    card.dataset.state = c.state;
    card.classList.toggle("aurous-failed", c.state === "failed");
    const src = thumbs[c.id] || previews.get(c.id) || "";
    if (src && img.getAttribute("src") !== src) img.src = src;
    img.hidden = !src;
    setText(parts.name, c.name);
    parts.name.title = c.name || "";
    const t = transfers.get(c.id);
    let sizeText = formatBytes(c.size);
    if (t && !t.stopped && t.received < c.size && c.state !== "failed") {
      sizeText = `${formatBytes(t.received)} of ${formatBytes(c.size)} sent`;
    }
    setText(parts.size, sizeText);
    setText(parts.state, c.label || STATE_TEXT[c.state] || c.state);
    let progress = Number(c.progress) || 0;
    if (t && c.state === "waiting" && c.size > 0) progress = (0.25 * t.received) / c.size;
    parts.fill.style.width = `${Math.round(Math.min(1, Math.max(0, progress)) * 100)}%`;
    if (c.pose) {
      const conf = c.confidence != null ? ` · ${Math.round(c.confidence * 100)}%` : "";
      setText(parts.pose, `${c.pose}${conf}`);
      parts.pose.dataset.pose = c.pose;
    } else {
      setText(parts.pose, "");
    }
    parts.countdown.dataset.expiresAt = c.expires_at || "";
    parts.countdown.dataset.label = c.expires_label || "";
    setText(parts.countdown, countdownText(c, Date.now()));
    setText(parts.note, c.notice);
    setText(parts.error, c.error);
    parts.error.title = c.error || "";
    parts.retry.hidden = !c.retryable;
    card.querySelector(".aurous-remove").hidden = c.removable === false;
  }

  function update() {
    if (!alive) return;
    const disabled = model.get("disabled");
    box.classList.toggle("aurous-disabled", disabled);
    input.disabled = disabled;
    setText(notice, model.get("notice"));
    const thumbs = model.get("thumbs") || {};
    const cards = [...model.get("cards"), ...localCards()];
    const seen = new Set();
    cards.forEach((c, index) => {
      seen.add(c.id);
      const parts = nodes.get(c.id) || buildCard(c.id);
      fillCard(parts, c, thumbs);
      if (grid.children[index] !== parts.card) grid.insertBefore(parts.card, grid.children[index] || null);
      if (thumbs[c.id] && previews.has(c.id)) {
        URL.revokeObjectURL(previews.get(c.id));
        previews.delete(c.id);
      }
    });
    for (const [id, parts] of nodes) {
      if (!seen.has(id)) {
        parts.card.remove();
        nodes.delete(id);
      }
    }
  }

  function tick() {
    const now = Date.now();
    for (const parts of nodes.values()) {
      const at = Number(parts.countdown.dataset.expiresAt);
      if (!at) continue;
      const text = countdownText({ expires_at: at, expires_label: parts.countdown.dataset.label }, now);
      if (parts.countdown.textContent !== text) parts.countdown.textContent = text;
    }
  }

  async function stream(t) {
    const { file, id } = t;
    for (let offset = 0; offset < file.size; offset += CHUNK) {
      await t.waitForWindow();
      if (t.stopped || !alive) return;
      const buffer = await file.slice(offset, offset + CHUNK).arrayBuffer();
      model.send({ type: "chunk", id, offset }, undefined, [buffer]);
      t.sent += 1;
    }
    if (!t.stopped && alive) model.send({ type: "end", id });
  }

  function choose(files) {
    if (model.get("disabled")) return;
    const list = Array.from(files || []);
    list.forEach((file, i) => {
      const id = newId(i);
      const t = new Transfer(file, id);
      transfers.set(id, t);
      if (file.size < 64 * 1024 * 1024) previews.set(id, URL.createObjectURL(file));
      model.send({ type: "begin", id, name: file.name, size: file.size, mime: file.type || "" });
      queue = queue.then(() => stream(t)).catch((err) => {
        t.stopped = String(err);
        model.send({ type: "abort", id, reason: `the browser could not read the file (${err})` });
      });
    });
    update();
  }

  function onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    const t = transfers.get(msg.id);
    if (!t) return;
    if (msg.type === "ack") {
      t.acked += 1;
      t.received = Number(msg.received) || t.received;
      t.notify();
      const parts = nodes.get(t.id);
      if (parts) {
        const c = model.get("cards").find((x) => x.id === t.id);
        if (c) fillCard(parts, c, model.get("thumbs") || {});
      }
    } else if (msg.type === "reject" || msg.type === "done") {
      t.stopped = msg.type;
      t.notify();
      if (msg.type === "reject") forget(t.id);
      update();
    }
  }

  input.addEventListener("change", () => {
    choose(input.files);
    input.value = ""; // choosing the same file again fires change again
  });
  const stop = (event) => {
    event.preventDefault();
    event.stopPropagation();
  };
  zone.addEventListener("dragenter", (e) => {
    stop(e);
    zone.classList.add("aurous-over");
  });
  zone.addEventListener("dragover", (e) => {
    stop(e);
    if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", (e) => {
    stop(e);
    zone.classList.remove("aurous-over");
  });
  zone.addEventListener("drop", (e) => {
    stop(e);
    zone.classList.remove("aurous-over");
    choose(e.dataTransfer ? e.dataTransfer.files : []);
  });

  model.on("msg:custom", onMessage);
  model.on("change:cards", update);
  model.on("change:thumbs", update);
  model.on("change:notice", update);
  model.on("change:disabled", update);
  const timer = setInterval(tick, 1000);
  update();

  return () => {
    alive = false;
    clearInterval(timer);
    for (const t of transfers.values()) t.notify();
    for (const url of previews.values()) URL.revokeObjectURL(url);
    model.off("msg:custom", onMessage);
    model.off("change:cards", update);
    model.off("change:thumbs", update);
    model.off("change:notice", update);
    model.off("change:disabled", update);
  };
}

export default { render };
