// The browser's formatters against the table Python's are checked against.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { expiryText, fill, formatDuration, formatSize } from "../../../aurous_nb/widgets/static/format.js";

const table = JSON.parse(readFileSync(new URL("../../fixtures/formats.json", import.meta.url), "utf8"));
const phrases = table.phrases;

test("sizes read as in Python", () => {
  for (const [n, text] of table.size) assert.equal(formatSize(n), text, `formatSize(${n})`);
});

test("durations read as in Python", () => {
  for (const [s, text] of table.duration) assert.equal(formatDuration(s), text, `formatDuration(${s})`);
});

test("deadline phrases read as in Python", () => {
  for (const [kind, s, text] of table.expiry) assert.equal(expiryText(phrases, kind, s), text);
});

test("nonsense sizes and durations stay quiet", () => {
  assert.equal(formatSize(-1), "");
  assert.equal(formatSize(Number.NaN), "");
  assert.equal(formatDuration(Number.NaN), "0 s");
  assert.equal(expiryText(phrases, "nope", 10), "");
});

test("fill puts the value in the phrase", () => {
  assert.equal(fill("waiting for the rate limit ({})", "3 s"), "waiting for the rate limit (3 s)");
});
