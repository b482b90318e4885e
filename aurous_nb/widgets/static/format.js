// Sizes, durations and deadline phrases, as the kernel writes them.
//
// The browser ticks countdowns itself (they keep moving while a cell blocks the kernel), so it
// needs its own copy of aurous_nb/_text.py's format_size / format_duration and of
// aurous_nb/display/_words.py's expiry_text. Both copies are checked against one table of
// cases, tests/fixtures/formats.json (tests/test_text.py and tests/widgets/js/format.test.mjs).
// The phrases themselves are not copied: they arrive in the widget's `config` trait.

const UNITS = ["KiB", "MiB", "GiB", "TiB"];

/**
 * `value` with one decimal, rounded as Python's `f"{value:.1f}"` rounds: to the nearest, ties
 * (exact binary halves such as 1.25) to even. `Number#toFixed` sends those ties up.
 * @param {number} value
 * @returns {string}
 */
function oneDecimal(value) {
  const tie = Number.isInteger(value * 4) && !Number.isInteger(value * 2);
  if (!tie) return value.toFixed(1);
  const low = Math.floor(value * 10); // exact: value is a multiple of 1/4
  return ((low % 2 === 0 ? low : low + 1) / 10).toFixed(1);
}

/**
 * Bytes in binary units with one decimal: "834 B", "12.3 KiB", "4.1 MiB".
 * @param {number} n
 * @returns {string}
 */
export function formatSize(n) {
  if (!Number.isFinite(n) || n < 0) return "";
  if (n < 1024) return `${Math.trunc(n)} B`;
  let value = n;
  for (const unit of UNITS) {
    value /= 1024;
    if (value < 1024 || unit === UNITS[UNITS.length - 1]) return `${oneDecimal(value)} ${unit}`;
  }
  return "";
}

/**
 * A length of time, rounded down: "45 s", "14 min 32 s", "23 h 59 min" (negative counts as 0).
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  const s = Number.isFinite(seconds) ? Math.max(0, Math.trunc(seconds)) : 0;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * "upload URL expires in 14 min 32 s" / "upload URL expired", from the kernel's phrases.
 * @param {Record<string, [string, string]>} phrases  `display.EXPIRY_PHRASES`
 * @param {string} kind  "url" or "ticket"
 * @param {number} secondsLeft
 * @returns {string}
 */
export function expiryText(phrases, kind, secondsLeft) {
  const pair = phrases && phrases[kind];
  if (!pair) return "";
  const [left, over] = pair;
  return secondsLeft > 0 ? left.replace("{}", formatDuration(secondsLeft)) : over;
}

/**
 * A phrase with one "{}" filled in: fill("waiting for the rate limit ({})", "3 s").
 * @param {string} phrase
 * @param {string} value
 * @returns {string}
 */
export function fill(phrase, value) {
  return String(phrase || "").replace("{}", value);
}
