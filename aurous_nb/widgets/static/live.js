// A small companion view for widgets without browser code of their own (SynthesisReview):
// says in one line when the kernel behind them is gone, and hides their plain-HTML records
// while they are live (see connection.js).

import { el } from "./cards.js";
import { recordHider, watchConnection } from "./connection.js";

/**
 * @param {{model: import("./model.js").Model, el: HTMLElement}} args
 * @returns {() => void} cleanup
 */
function render({ model, el: root }) {
  const config = model.get("config");
  const line = el("div", "aurous-offline-line", (config.phrases || {}).offline);
  line.setAttribute("role", "status");
  root.append(line);
  const host = root.closest(".aurous-live-host") || root;
  const records = recordHider(model.get("record_id"));

  function update() {
    const offline = connection.offline;
    line.hidden = !offline;
    host.classList.toggle("aurous-offline", offline);
    records.set(!offline);
  }

  const connection = watchConnection(root, update, model.widget_manager);
  update();
  return () => {
    connection.close();
    records.remove();
  };
}

export default { render };
