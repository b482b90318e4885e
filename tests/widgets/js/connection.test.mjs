// When a view has no kernel behind it: ipywidgets' disconnected class, or a kernel status
// that means the models' comms are gone (a restart the front end did not ask for says only
// "starting"). Played here with a stand-in element, MutationObserver and kernel signal.
import assert from "node:assert/strict";
import { test } from "node:test";

const observers = [];
globalThis.MutationObserver = class {
  constructor(callback) {
    this.callback = callback;
    this.on = false;
    observers.push(this);
  }
  observe() {
    this.on = true;
  }
  disconnect() {
    this.on = false;
  }
};

const { DISCONNECTED, watchConnection } = await import(
  "../../../aurous_nb/widgets/static/connection.js"
);

function element(...classes) {
  const set = new Set(classes);
  return {
    classList: {
      contains: (c) => set.has(c),
      add(c) {
        set.add(c);
        for (const o of observers) if (o.on) o.callback([]);
      },
    },
  };
}

function kernel() {
  const slots = new Set();
  return {
    statusChanged: {
      connect: (fn) => slots.add(fn),
      disconnect: (fn) => slots.delete(fn),
    },
    emit(status) {
      for (const fn of [...slots]) fn(this, status);
    },
    slots,
  };
}

test("a running kernel's busy and idle change nothing; 'starting' means its comms are gone", () => {
  const k = kernel();
  const seen = [];
  const watch = watchConnection(element(), (offline) => seen.push(offline), { kernel: k });
  assert.equal(watch.offline, false);
  for (const status of ["busy", "idle", "busy", "idle"]) k.emit(status);
  assert.deepEqual(seen, []);
  k.emit("starting"); // restarted through the REST API or from another tab
  assert.deepEqual(seen, [true]);
  assert.equal(watch.offline, true);
  k.emit("idle"); // the new kernel is up: this view's model is still gone
  assert.deepEqual(seen, [true]);
  watch.close();
  assert.equal(k.slots.size, 0);
});

test("restarting, autorestarting and dead all mean offline", () => {
  for (const status of ["restarting", "autorestarting", "dead"]) {
    const k = kernel();
    const seen = [];
    watchConnection(element(), (offline) => seen.push(offline), { kernel: k });
    k.emit(status);
    assert.deepEqual(seen, [true], status);
  }
});

test("ipywidgets' disconnected class alone decides without a kernel (a static page)", () => {
  const el = element();
  const seen = [];
  const watch = watchConnection(el, (offline) => seen.push(offline));
  assert.equal(watch.offline, false);
  el.classList.add(DISCONNECTED);
  assert.deepEqual(seen, [true]);
  assert.equal(watchConnection(element(DISCONNECTED), () => {}).offline, true);
  watch.close();
});

test("a manager whose kernel cannot be read is a static page, not an error", () => {
  const manager = {
    get kernel() {
      throw new Error("no kernel here");
    },
  };
  assert.equal(watchConnection(element(), () => {}, manager).offline, false);
});
