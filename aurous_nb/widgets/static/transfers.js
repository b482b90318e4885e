// Files from the browser to the kernel: the sending half of the protocol in
// aurous_nb/widgets/_transfers.py.
//
//   browser -> kernel  {type: "data", sender, seq, files?: [{id, name, size, mime}],
//                        parts: [{id, offset}]} + one buffer per part; `files` announces a
//                        selection (its cards), in the first message that follows the choice
//                      {type: "remove" | "retry", id}, {type: "abort", id, reason}
//   kernel -> browser  {type: "ack", sender, seq, received: {id: bytes}}  one per data message
//                      {type: "done", id}, {type: "reject", id}
//
// `sender` names one view (a notebook open in two tabs has two) and `seq` counts its data
// messages from 1: the kernel may be handed them out of order (its comm handlers can run on
// more than one thread) and puts them back in order; every view hears every ack and counts
// only its own.
//
// Small files are packed together and big ones cut, so every data message carries up to
// `messageBytes` (well under the Jupyter server's 10 MiB websocket limit) from as many files as
// fit; up to `window` messages are out before the kernel acknowledges one. Measured on the raw
// path (a widget sending 8.4 MB of photos to the kernel, JupyterLab, median of 8): one message
// 154 ms, 4 MiB messages 113 ms, 2 MiB messages 218 ms. The announcement rides in the first
// data message rather than ahead of it: a small message sent just before the big ones made
// them slower (184 ms against 106 ms, median of 6; the cause was not pinned down).

/**
 * One file on its way.
 * @typedef {Object} Outgoing
 * @property {string} id
 * @property {Blob & {name?: string, type?: string}} file
 * @property {number} size
 * @property {number} sent  bytes cut into messages so far
 * @property {number} received  bytes the kernel has written (from its acks)
 * @property {number} sentAt  when its last byte was sent (epoch ms; 0 before)
 * @property {boolean} done  the kernel has the whole file
 * @property {string|null} stopped  why no more bytes go (removed, rejected, unreadable), or null
 */

let counter = 0;

/**
 * A fresh id the kernel's spool accepts ([A-Za-z0-9_-], at most 64 characters).
 * @returns {string}
 */
export function newId() {
  counter += 1;
  const rand = Math.random().toString(36).slice(2, 10);
  return `f${Date.now().toString(36)}${rand}${counter}`;
}

/**
 * Cut the next message out of `queue`: pieces of the files in order, `limit` bytes at most.
 * Moves each file's `sent` on; a file whose bytes are all cut out is skipped next time.
 * @param {Outgoing[]} queue
 * @param {number} limit
 * @returns {{t: Outgoing, offset: number, length: number}[]}
 */
export function nextParts(queue, limit) {
  const parts = [];
  let room = limit;
  for (const t of queue) {
    if (room <= 0) break;
    if (t.stopped || t.sent >= t.size) continue;
    const length = Math.min(room, t.size - t.sent);
    parts.push({ t, offset: t.sent, length });
    t.sent += length;
    room -= length;
  }
  return parts;
}

/** Sends chosen files to the kernel; feed it the kernel's messages with `handle`. */
export class Sender {
  /**
   * @param {Object} options
   * @param {(content: object, buffers?: ArrayBuffer[]) => void} options.send
   * @param {number} options.messageBytes
   * @param {number} options.window
   * @param {(t: Outgoing) => void} [options.changed]  called when a file's progress or fate changes
   */
  constructor({ send, messageBytes, window, changed }) {
    this._send = send;
    this._messageBytes = Math.max(1, messageBytes);
    this._window = Math.max(1, window);
    this._changed = changed || (() => {});
    /** @type {Map<string, Outgoing>} */
    this.transfers = new Map();
    /** @type {Outgoing[]} files with bytes still to cut, in order */
    this._queue = [];
    /** @type {Outgoing[]} files chosen but not announced to the kernel yet */
    this._unannounced = [];
    this._inFlight = 0;
    this._seq = 0;
    this.id = newId();
    this._pumping = false;
    this._closed = false;
  }

  /**
   * Start sending `files`; the kernel hears of them with their first bytes.
   * @param {Array<Blob & {name?: string, type?: string}>} files
   * @returns {Outgoing[]}
   */
  add(files) {
    const added = files.map((file) => ({
      id: newId(),
      file,
      size: file.size,
      sent: 0,
      received: 0,
      sentAt: 0,
      done: false,
      stopped: null,
    }));
    if (!added.length || this._closed) return [];
    for (const t of added) {
      this.transfers.set(t.id, t);
      this._queue.push(t);
      this._unannounced.push(t);
    }
    this.pump();
    return added;
  }

  /**
   * Send no more bytes of `id` (the card was removed, or the kernel refused the file).
   * @param {string} id
   * @param {string} reason
   */
  stop(id, reason) {
    const t = this.transfers.get(id);
    if (t && !t.stopped && !t.done) {
      t.stopped = reason;
      this._changed(t);
    }
  }

  /** Forget `id` altogether (its card is gone). @param {string} id */
  forget(id) {
    this.stop(id, "removed");
    this.transfers.delete(id);
  }

  /** Stop everything (the view is going away). */
  close() {
    this._closed = true;
  }

  /**
   * Fill the window: cut as many messages as it has room for, read all their bytes (the reads
   * run together; 8 MB of photos take about 20 ms), then send them back to back and leave the
   * page's main thread alone while they travel. The kernel's acks open the window again.
   * @returns {Promise<void>}
   */
  async pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      while (!this._closed && this._inFlight < this._window) {
        const batch = [];
        while (this._inFlight + batch.length < this._window) {
          const parts = nextParts(this._queue, this._messageBytes);
          if (!parts.length) break;
          batch.push(parts);
        }
        if (!batch.length && this._unannounced.length) batch.push([]); // announce, no bytes
        if (!batch.length) break;
        const read = await Promise.all(
          batch.map((parts) =>
            Promise.all(
              parts.map((p) => p.t.file.slice(p.offset, p.offset + p.length).arrayBuffer()),
            ).then(
              (buffers) => ({ parts, buffers, error: null }),
              (error) => ({ parts, buffers: null, error }),
            ),
          ),
        );
        if (this._closed) return;
        for (const { parts, buffers, error } of read) {
          if (error || !buffers) {
            for (const { t } of parts) this._unreadable(t, error);
            continue;
          }
          this._inFlight += 1;
          this._seq += 1;
          /** @type {Record<string, unknown>} */
          const content = { type: "data", sender: this.id, seq: this._seq };
          const files = this._announce();
          if (files.length) content.files = files;
          content.parts = parts.map((p) => ({ id: p.t.id, offset: p.offset }));
          this._send(content, buffers);
        }
        for (const { parts } of read) {
          for (const { t } of parts) {
            if (t.sent >= t.size && !t.sentAt && !t.stopped) {
              t.sentAt = Date.now();
              this._changed(t);
            }
          }
        }
      }
      this._queue = this._queue.filter((t) => !t.stopped && t.sent < t.size);
    } finally {
      this._pumping = false;
    }
  }

  /**
   * A message from the kernel; true when it was about a transfer.
   * @param {{type?: string, id?: string, sender?: string, seq?: number,
   *   received?: Record<string, number>}} msg
   * @returns {boolean}
   */
  handle(msg) {
    if (!msg || typeof msg !== "object") return false;
    if (msg.type === "ack") {
      if (msg.sender && msg.sender !== this.id) return true; // another view's
      this._inFlight = Math.max(0, this._inFlight - 1);
      for (const [id, bytes] of Object.entries(msg.received || {})) {
        const t = this.transfers.get(id);
        if (t && Number(bytes) > t.received) {
          t.received = Number(bytes);
          this._changed(t);
        }
      }
      this.pump();
      return true;
    }
    const t = msg.id ? this.transfers.get(msg.id) : undefined;
    if (msg.type === "done") {
      if (t) {
        t.done = true;
        t.received = t.size;
        this._changed(t);
      }
      return true;
    }
    if (msg.type === "reject") {
      if (t) this.stop(t.id, "rejected");
      return true;
    }
    return false;
  }

  /** The files to announce with the next message (those not stopped meanwhile). */
  _announce() {
    const files = this._unannounced.filter((t) => !t.stopped);
    this._unannounced = [];
    return files.map((t) => ({
      id: t.id,
      name: t.file.name || "image",
      size: t.size,
      mime: t.file.type || "",
    }));
  }

  /** @param {Outgoing} t @param {unknown} err */
  _unreadable(t, err) {
    if (t.stopped) return;
    t.stopped = "unreadable";
    this._send({ type: "abort", id: t.id, reason: `the browser could not read the file (${err})` });
    this._changed(t);
  }
}
