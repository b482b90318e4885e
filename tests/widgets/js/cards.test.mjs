// What a card says: its countdown and rate-limit wait as durations, its progress while the
// browser sends the file, its error in full, and nothing actionable once the kernel is gone.
import assert from "node:assert/strict";
import { test } from "node:test";

import { cardView } from "../../../aurous_nb/widgets/static/cards.js";

// the config trait as Python sends it (a subset; tests/widgets/test_esm.py checks the real one
// reaches the browser code)
const config = {
  state_labels: { waiting: "waiting for the kernel", receiving: "sending to the kernel", classified: "classified", failed: "failed", consumed: "in the character" },
  expiry_phrases: { url: ["upload URL expires in {}", "upload URL expired"], ticket: ["upload usable for {}", "upload expired"] },
  expiry_help: { url: "The upload URL is …", ticket: "An uploaded image …" },
  phrases: { rate_wait: "waiting for the rate limit ({})", sent: "{} sent" },
};
const now = Date.UTC(2026, 4, 8, 10, 0, 0);
const base = { id: "f1", name: "front.jpg", size: 3 * 1024 * 1024, state: "classified", label: "classified", progress: 1, pose: "front", confidence: 0.934, expires_kind: "", expires_at: 0, wait_until: 0, notice: "", error: "", retryable: false, removable: true };

test("a ticket countdown reads as a duration, with what it means as a title", () => {
  const v = cardView({ ...base, expires_kind: "ticket", expires_at: now + (23 * 3600 + 59 * 60 + 53) * 1000 }, { now, config });
  assert.equal(v.countdown, "upload usable for 23 h 59 min");
  assert.equal(v.countdownTitle, "An uploaded image …");
  assert.equal(v.pose, "front · 93%");
  assert.equal(v.percent, 100);
});

test("an expired upload URL says so", () => {
  const v = cardView({ ...base, state: "minted", expires_kind: "url", expires_at: now - 1 }, { now, config });
  assert.equal(v.countdown, "upload URL expired");
});

test("a card waiting for the rate limit counts the wait down, rounded up", () => {
  const card = { ...base, state: "uploaded", label: "classifying", wait_until: now + 2400 };
  assert.equal(cardView(card, { now, config }).wait, "waiting for the rate limit (3 s)");
  assert.equal(cardView(card, { now: now + 2400, config }).wait, "");
});

test("while this browser sends the file, the card shows how much arrived", () => {
  const transfer = { id: "f1", received: 1024 * 1024, done: false, stopped: null };
  const v = cardView({ ...base, state: "receiving", label: "sending to the kernel", progress: 0 }, { now, config, transfer });
  assert.equal(v.size, "1.0 MiB of 3.0 MiB sent");
  assert.equal(v.state, "receiving");
  assert.equal(v.percent, 8); // a quarter of the bar is the trip to the kernel
  const waiting = cardView({ ...base, state: "waiting", progress: 0 }, { now, config, transfer: { ...transfer, received: 0 } });
  assert.equal(waiting.label, "waiting for the kernel");
});

test("the error is shown whole; Retry and × follow the kernel, and go when it is gone", () => {
  const error = "a truncated JPEG: the data ends 41 % of the way through the image — export it again";
  const card = { ...base, state: "failed", label: "failed", error, retryable: true };
  const v = cardView(card, { now, config });
  assert.equal(v.error, error);
  assert.ok(v.failed && v.retryable && v.removable);
  const gone = cardView(card, { now, config, offline: true });
  assert.ok(!gone.retryable && !gone.removable);
});

test("a card in the character is marked so", () => {
  const v = cardView({ ...base, state: "consumed", label: "in the character" }, { now, config });
  assert.ok(v.inCharacter);
  assert.equal(v.label, "in the character");
});
