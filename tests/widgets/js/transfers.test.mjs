// The browser's sending half of the transfer protocol, against a kernel played here: the
// bytes arrive whole and in order, small files share messages, big ones are cut, and no more
// than `window` messages are ever unacknowledged.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Sender, newId, nextParts } from "../../../aurous_nb/widgets/static/transfers.js";

const MiB = 1024 * 1024;

function blob(size, seed) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (i * 31 + seed) & 0xff;
  return new File([bytes], `file${seed}.jpg`, { type: "image/jpeg" });
}

/** A kernel that writes parts, acks each data message (when `release` says), and says done. */
function fakeKernel() {
  const files = new Map(); // id -> {size, chunks: Uint8Array[]}
  const log = { begins: [], data: [], maxInFlight: 0, inFlight: 0 };
  let sender = null;
  const queue = [];
  const kernel = {
    log,
    files,
    attach(s) {
      sender = s;
    },
    send(content, buffers) {
      if (content.type === "data" && content.files) {
        log.begins.push(content);
        for (const f of content.files) files.set(f.id, { size: f.size, got: 0, chunks: [] });
      }
      if (content.type === "data") {
        log.data.push({ parts: content.parts.length, bytes: buffers.reduce((n, b) => n + b.byteLength, 0) });
        log.inFlight += 1;
        log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
        queue.push([content, buffers]);
      }
    },
    /** handle the oldest unacknowledged message */
    step() {
      const item = queue.shift();
      if (!item) return false;
      const [content, buffers] = item;
      const received = {};
      const done = [];
      content.parts.forEach((part, i) => {
        const f = files.get(part.id);
        assert.equal(part.offset, f.got, "parts arrive in order, without gaps");
        f.chunks.push(new Uint8Array(buffers[i]));
        f.got += buffers[i].byteLength;
        received[part.id] = f.got;
        if (f.got === f.size) done.push(part.id);
      });
      log.inFlight -= 1;
      sender.handle({ type: "ack", seq: content.seq, received });
      for (const id of done) sender.handle({ type: "done", id });
      return true;
    },
    async drain() {
      // let the sender read and send, then answer, until nothing is left
      for (let idle = 0; idle < 5; ) {
        await new Promise((r) => setTimeout(r, 0));
        if (kernel.step()) idle = 0;
        else idle += 1;
      }
    },
  };
  return kernel;
}

function bytesOf(kernelFile) {
  const out = new Uint8Array(kernelFile.got);
  let at = 0;
  for (const c of kernelFile.chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

test("nextParts packs small files together and cuts big ones", () => {
  const q = [1.2, 1.2, 1.2, 8, 0.5].map((mb, i) => ({ id: `f${i}`, size: Math.round(mb * MiB), sent: 0, stopped: null }));
  const messages = [];
  for (let parts; (parts = nextParts(q, 4 * MiB)).length; ) messages.push(parts);
  const sizes = messages.map((m) => m.reduce((n, p) => n + p.length, 0));
  assert.ok(sizes.every((n) => n <= 4 * MiB));
  assert.equal(sizes.reduce((a, b) => a + b), q.reduce((n, t) => n + t.size, 0));
  assert.equal(messages.length, Math.ceil(sizes.reduce((a, b) => a + b) / (4 * MiB)));
  assert.deepEqual(messages[0].map((p) => p.t.id), ["f0", "f1", "f2", "f3"]); // three whole, one begun
  assert.deepEqual(messages[0].map((p) => p.offset), [0, 0, 0, 0]);
  assert.equal(messages[1][0].t.id, "f3");
  assert.equal(messages[1][0].offset, messages[0][3].length); // picks up where it stopped
});

test("nextParts skips stopped files", () => {
  const q = [
    { id: "a", size: 10, sent: 0, stopped: "removed" },
    { id: "b", size: 10, sent: 0, stopped: null },
  ];
  assert.deepEqual(nextParts(q, 100).map((p) => p.t.id), ["b"]);
});

test("ids are unique and what the kernel's spool accepts", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newId()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
});

test("six files arrive whole, packed, never more than the window in flight", async () => {
  const kernel = fakeKernel();
  const changed = [];
  const sender = new Sender({
    send: kernel.send,
    messageBytes: 4 * MiB,
    window: 3,
    changed: (t) => changed.push([t.id, t.received, t.done]),
  });
  kernel.attach(sender);
  const files = [1.4, 1.4, 1.4, 1.4, 1.4, 1.4].map((mb, i) => blob(Math.round(mb * MiB), i));
  const sent = sender.add(files);
  await kernel.drain();
  // one announcement for the whole selection, in the first data message, with its bytes
  assert.equal(kernel.log.begins.length, 1);
  assert.equal(kernel.log.begins[0].seq, 1);
  assert.deepEqual(kernel.log.begins[0].files.map((f) => f.name), files.map((f) => f.name));
  assert.equal(kernel.log.data.length, 3); // 8.4 MB in 4 MiB messages
  assert.ok(kernel.log.maxInFlight <= 3);
  for (const [i, t] of sent.entries()) {
    assert.ok(t.done, `${t.id} done`);
    assert.equal(t.received, files[i].size);
    assert.deepEqual(bytesOf(kernel.files.get(t.id)), new Uint8Array(await files[i].arrayBuffer()));
  }
  assert.ok(changed.some(([, , done]) => done));
});

test("the window holds the sender back until the kernel acknowledges", async () => {
  const kernel = fakeKernel();
  const sender = new Sender({ send: kernel.send, messageBytes: MiB, window: 2 });
  kernel.attach(sender);
  sender.add([blob(5 * MiB, 7)]);
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setTimeout(r, 0));
  assert.equal(kernel.log.data.length, 2); // a busy kernel: two out, then wait
  await kernel.drain();
  assert.equal(kernel.log.data.length, 5);
  assert.ok(kernel.log.maxInFlight <= 2);
});

test("a removed or refused file sends no more bytes; the others go on", async () => {
  const kernel = fakeKernel();
  const sender = new Sender({ send: kernel.send, messageBytes: MiB, window: 1 });
  kernel.attach(sender);
  const [a, b] = sender.add([blob(3 * MiB, 1), blob(2 * MiB, 2)]);
  await new Promise((r) => setTimeout(r, 0));
  sender.forget(a.id);
  sender.handle({ type: "reject", id: "nobody" }); // unknown ids are ignored
  await kernel.drain();
  assert.ok(kernel.files.get(a.id).got < a.size);
  assert.equal(sender.transfers.has(a.id), false);
  assert.ok(b.done);
  assert.equal(kernel.files.get(b.id).got, b.size);
});

test("an unreadable file is aborted with a reason", async () => {
  const sent = [];
  const bad = { name: "gone.jpg", size: 10, type: "", slice: () => ({ arrayBuffer: () => Promise.reject(new Error("NotReadableError")) }) };
  const sender = new Sender({ send: (c) => sent.push(c), messageBytes: MiB, window: 2 });
  const [t] = sender.add([bad]);
  await new Promise((r) => setTimeout(r, 0));
  const abort = sent.find((c) => c.type === "abort");
  assert.equal(abort.id, t.id);
  assert.match(abort.reason, /could not read the file .*NotReadableError/);
  assert.equal(t.stopped, "unreadable");
});

test("a selection of empty files is still announced (the kernel refuses them by name)", async () => {
  const kernel = fakeKernel();
  const sender = new Sender({ send: kernel.send, messageBytes: MiB, window: 2 });
  kernel.attach(sender);
  sender.add([new File([], "empty.jpg")]);
  await kernel.drain();
  assert.equal(kernel.log.begins.length, 1);
  assert.deepEqual(kernel.log.begins[0].parts, []);
});

test("data messages name their view and count from 1; other views' acks are not ours", async () => {
  const sent = [];
  const sender = new Sender({ send: (c) => sent.push(c), messageBytes: MiB, window: 2 });
  const other = new Sender({ send: () => {}, messageBytes: MiB, window: 2 });
  assert.notEqual(sender.id, other.id);
  sender.add([blob(4 * MiB, 3)]);
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent.map((c) => [c.sender, c.seq]), [[sender.id, 1], [sender.id, 2]]);
  // the kernel's ack of another view's message 1 leaves this view's window shut
  sender.handle({ type: "ack", sender: other.id, seq: 1, received: {} });
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setTimeout(r, 0));
  assert.equal(sent.length, 2);
  sender.handle({ type: "ack", sender: sender.id, seq: 1, received: {} });
  for (let i = 0; i < 20; i += 1) await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent.map((c) => c.seq), [1, 2, 3]);
});
