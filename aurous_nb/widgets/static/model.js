// The drop zone's model: the traits aurous_nb/widgets/_dropzone.py syncs, as JSDoc types.
//
// Nothing here runs; the other modules refer to these types in their comments
// (`import("./model.js").Card`).

/**
 * One file's card as the kernel syncs it (`DropZone.cards`); metadata only, never image bytes.
 * @typedef {Object} Card
 * @property {string} id  the browser's id for the file ("local…" for files added from code)
 * @property {string} name  the file name as chosen
 * @property {number} size  bytes
 * @property {string} state  a ref state (queued … classified, consumed, failed) or "receiving"
 * @property {string} label  the state in words (`display.STATE_LABELS`, or with a percentage)
 * @property {number} progress  0–1
 * @property {string|null} pose  detected pose, once classified
 * @property {number|null} confidence  0–1, once classified
 * @property {string} expires_kind  "url", "ticket" or "" (which deadline applies now)
 * @property {number} expires_at  that deadline, epoch milliseconds (0: none)
 * @property {number} wait_until  epoch ms until which the client waits for the rate limit (0: not waiting)
 * @property {string} notice  something worth saying that is not an error (a downscale, a re-mint)
 * @property {string} error  one line, without the file name the card already shows
 * @property {boolean} retryable  whether Retry can help
 * @property {boolean} removable  whether × is offered
 */

/**
 * The facts the browser needs, each stated once in Python (`DropZone.config`).
 * @typedef {Object} Config
 * @property {number} max_refs  `aurous_nb.limits.MAX_REFS`
 * @property {number} max_transfer_bytes  the largest file the kernel accepts from the browser
 * @property {number} message_bytes  the most file bytes packed into one message
 * @property {number} window  messages sent before the kernel has acknowledged them
 * @property {string} accept  the file input's accept attribute
 * @property {string} types  the accepted types in words ("JPEG, PNG or WebP")
 * @property {Record<string, string>} state_labels  `display.STATE_LABELS`
 * @property {Record<string, [string, string]>} expiry_phrases  `display.EXPIRY_PHRASES`
 * @property {Record<string, string>} expiry_help  what each deadline means (a title)
 * @property {Record<string, string>} phrases  other words: rate_wait, offline, sent, …
 */

/**
 * The traits of `DropZone` the browser reads (r) or writes (w).
 * @typedef {Object} Traits
 * @property {Card[]} cards  (r)
 * @property {Record<string, string>} thumbs  card id -> thumbnail data URI, ≤ 256 px (r)
 * @property {string} notice  one line above the cards (r)
 * @property {boolean} disabled  no more files accepted (r)
 * @property {string} status  the uploader's status: idle, creating, created (r)
 * @property {string} result  the created character's name, once created (r)
 * @property {string} record_id  marks this uploader's plain-HTML record outputs (r)
 * @property {Config} config  (r)
 * @property {boolean} js_ready  set once this code runs (w)
 */

/**
 * The anywidget model, as much of it as this code uses.
 * @typedef {Object} Model
 * @property {<K extends keyof Traits>(name: K) => Traits[K]} get
 * @property {(name: string, value: unknown) => void} set
 * @property {() => void} save_changes
 * @property {(content: object, callbacks?: unknown, buffers?: ArrayBuffer[]) => void} send
 * @property {(event: string, fn: Function) => void} on
 * @property {(event: string, fn: Function) => void} off
 * @property {any} [widget_manager]  the front end's manager; JupyterLab's, Notebook 7's and
 *   Voilà's have the `kernel` connection (connection.js watches its status)
 */

export {};
