// One polite live region: what changed, in words, for screen readers.
//
// `changes` (pure) compares two renderings of the cards and says what a person would want to
// hear: a file classified or failed, a file refused, the character created. `Announcer` puts
// the sentences into one aria-live="polite" element, a short burst at a time.

/**
 * @typedef {{name: string, state: string, label: string, pose: string, error: string}} Said
 */

/**
 * Sentences for what changed between `before` and `after` (card id -> what it said).
 * @param {Map<string, Said>} before
 * @param {Map<string, Said>} after
 * @returns {string[]}
 */
export function changes(before, after) {
  const out = [];
  const joined = [];
  for (const [id, now] of after) {
    const was = before.get(id);
    if (was && was.state === now.state && was.error === now.error) continue;
    if (now.state === "failed") out.push(`${now.name}: ${now.error || now.label}`);
    else if (now.state === "classified") out.push(`${now.name}: ${now.label}${now.pose ? `, ${now.pose}` : ""}`);
    else if (now.state === "consumed") joined.push(now.name);
    else if (!was) out.push(`${now.name}: ${now.label}`);
  }
  if (joined.length === 1) out.push(`${joined[0]} is in the character`);
  else if (joined.length > 1) out.push(`${joined.length} images are in the character`);
  for (const [id, was] of before) {
    if (!after.has(id)) out.push(`${was.name} removed`);
  }
  return out;
}

/**
 * Sentences as one text: a full stop between them unless one already ends in punctuation.
 * @param {string[]} sentences
 * @returns {string}
 */
export function joinSentences(sentences) {
  return sentences.reduce((text, s) => (!text ? s : /[.…!?]$/.test(text) ? `${text} ${s}` : `${text}. ${s}`), "");
}

/** Speaks through one polite live region, coalescing what arrives within `delay` ms. */
export class Announcer {
  /** @param {HTMLElement} region @param {number} [delay] */
  constructor(region, delay = 400) {
    this.region = region;
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    region.setAttribute("aria-atomic", "true");
    this._delay = delay;
    /** @type {string[]} */
    this._pending = [];
    this._timer = null;
  }

  /** @param {...string} sentences */
  say(...sentences) {
    const fresh = sentences.filter(Boolean);
    if (!fresh.length) return;
    this._pending.push(...fresh);
    if (this._timer === null) this._timer = setTimeout(() => this._flush(), this._delay);
  }

  _flush() {
    this._timer = null;
    const text = joinSentences(this._pending);
    this._pending = [];
    // the same words twice in a row are only read again if the region changed in between
    this.region.textContent = this.region.textContent === text ? `${text}.` : text;
  }

  close() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
  }
}
