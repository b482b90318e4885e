// Whether a view still has a kernel behind it, and the plain-HTML records that stand in for it.
//
// ipywidgets marks the element of a view whose model has no live comm with the class
// `jupyter-widgets-disconnected`: after the kernel restarted, and for a model restored from a
// notebook's saved widget state with no kernel behind it. A drop on such a view would go
// nowhere, so the view says so and refuses it.
//
// Each widget also writes its final results as a plain HTML output (a "record", marked
// data-aurous-record="<record id>"), which is what a saved notebook shows without a kernel.
// While the live view is connected the record would repeat it, so the view hides its records
// (and, in JupyterLab, the output row around them); once it is disconnected it shows them.

export const DISCONNECTED = "jupyter-widgets-disconnected";

// Kernel statuses after which a model made by the old kernel has no comm any more. A kernel
// says "starting" once, when its process starts: on a connection that already runs, that is
// a restart the front end did not ask for (through the REST API, from another tab, after a
// crash), which ipywidgets does not mark.
const GONE = new Set(["starting", "restarting", "autorestarting", "dead"]);

/**
 * Call `changed(offline)` whenever the view's connection changes; returns a stopper and the
 * current state.
 * @param {HTMLElement} el  the view's element (anywidget's `el`)
 * @param {(offline: boolean) => void} changed
 * @param {any} [manager]  the model's widget manager; its `kernel` (JupyterLab, Notebook 7,
 *   Voilà) tells of restarts ipywidgets does not mark. Without one, the class alone decides.
 */
export function watchConnection(el, changed, manager) {
  const state = { offline: el.classList.contains(DISCONNECTED), gone: false };
  const check = () => {
    const offline = state.gone || el.classList.contains(DISCONNECTED);
    if (offline !== state.offline) {
      state.offline = offline;
      changed(offline);
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(el, { attributes: true, attributeFilter: ["class"] });
  let kernel = null;
  try {
    kernel = manager && manager.kernel;
  } catch {
    kernel = null; // a manager without a kernel (a static page)
  }
  const onStatus = (_sender, status) => {
    if (GONE.has(status)) {
      state.gone = true;
      check();
    }
  };
  const signal = kernel && kernel.statusChanged;
  if (signal && typeof signal.connect === "function") signal.connect(onStatus);
  return {
    get offline() {
      return state.offline;
    },
    close: () => {
      observer.disconnect();
      if (signal && typeof signal.disconnect === "function") signal.disconnect(onStatus);
    },
  };
}

/**
 * Hides the record outputs of `recordId` in this document while `set(true)` holds, with a
 * stylesheet of its own: a record the kernel re-renders later is hidden from its first frame.
 * @param {string} recordId
 */
export function recordHider(recordId) {
  const style = document.createElement("style");
  const id = String(recordId).replace(/[^A-Za-z0-9_-]/g, "");
  style.textContent =
    `[data-aurous-record="${id}"], ` +
    `.jp-OutputArea-child:has([data-aurous-record="${id}"]) { display: none !important; }`;
  return {
    /** @param {boolean} hidden */
    set(hidden) {
      if (hidden && id && !style.isConnected) document.head.append(style);
      else if (!hidden && style.isConnected) style.remove();
    },
    remove() {
      style.remove();
    },
  };
}
