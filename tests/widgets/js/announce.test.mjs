// What the polite live region says, and what it keeps quiet about.
import assert from "node:assert/strict";
import { test } from "node:test";

import { changes, joinSentences } from "../../../aurous_nb/widgets/static/announce.js";
import { DragDepth, isPress } from "../../../aurous_nb/widgets/static/dropzone.js";

const said = (entries) => new Map(entries.map(([id, name, state, label, pose = "", error = ""]) => [id, { name, state, label, pose, error }]));

test("a new file, a classification and a failure are announced once", () => {
  const empty = new Map();
  const one = said([["a", "front.jpg", "waiting", "waiting for the kernel"]]);
  assert.deepEqual(changes(empty, one), ["front.jpg: waiting for the kernel"]);
  assert.deepEqual(changes(one, one), []); // nothing changed: nothing said
  const uploading = said([["a", "front.jpg", "uploading", "uploading 40%"]]);
  assert.deepEqual(changes(one, uploading), []); // progress is not worth a sentence
  const done = said([["a", "front.jpg", "classified", "classified", "front · 97%"]]);
  assert.deepEqual(changes(uploading, done), ["front.jpg: classified, front · 97%"]);
  const failed = said([["a", "front.jpg", "failed", "failed", "", "503 upstream_unavailable"]]);
  assert.deepEqual(changes(done, failed), ["front.jpg: 503 upstream_unavailable"]);
});

test("the refs joining the character are one sentence; a removal is said", () => {
  const before = said([["a", "a.jpg", "classified", "classified"], ["b", "b.jpg", "classified", "classified"]]);
  const after = said([["a", "a.jpg", "consumed", "in the character"], ["b", "b.jpg", "consumed", "in the character"]]);
  assert.deepEqual(changes(before, after), ["2 images are in the character"]);
  assert.deepEqual(changes(before, said([["a", "a.jpg", "classified", "classified"]])), ["b.jpg removed"]);
});

test("the drag highlight stays on while the pointer crosses a child element", () => {
  const drag = new DragDepth();
  assert.equal(drag.enter(), true); // over the zone
  assert.equal(drag.enter(), true); // over the prompt text inside it ...
  assert.equal(drag.leave(), true); // ... the zone's own dragleave: still on
  assert.equal(drag.leave(), false); // out of the zone
  assert.equal(drag.leave(), false); // never below zero
  drag.enter();
  assert.equal(drag.reset(), false); // a drop ends it
});

test("Enter and Space press the zone", () => {
  assert.ok(isPress({ key: "Enter" }) && isPress({ key: " " }));
  assert.ok(!isPress({ key: "Tab" }) && !isPress({ key: "a" }));
});

test("sentences join with one full stop", () => {
  assert.equal(joinSentences(["a.jpg removed", "Creating the character…", "Created Mira"]), "a.jpg removed. Creating the character… Created Mira");
  assert.equal(joinSentences([]), "");
});
