// The story room's Queue panel: what is waiting to be drawn, and the writer's place in it.
(() => {
  "use strict";
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const panel = $("queue-panel");
  const list = $("queue-list");
  const summary = $("queue-summary");
  const make = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  };
  const ask = () => window.InkwellRoom && window.InkwellRoom.send({ type: "queue" });

  function headline(msg) {
    if (!msg.items.length) return "Nothing is waiting to be drawn in this story.";
    if (msg.your_position == null) return "You have nothing waiting in this story.";
    const yours = `${msg.yours} of yours in the queue`;
    if (msg.your_position === 0) return `Yours is being drawn now (${yours}).`;
    return `Your next is at position ${msg.your_position} (${yours}).`;
  }

  function render(msg) {
    panel.hidden = false;
    summary.textContent = headline(msg);
    list.replaceChildren(...msg.items.map((item) => {
      const li = make("li", item.mine ? "queue-item mine" : "queue-item");
      li.dataset.testid = "queue-item";
      li.dataset.position = String(item.position);
      li.dataset.mine = String(item.mine);
      const where = item.position === 0 ? "Drawing now" : `${item.position}.`;
      const number = item.kind === "paragraph" && item.seq != null ? ` ${item.seq}` : "";
      li.append(
        make("strong", null, `${where} ${item.kind}${number}`),
        make("span", "muted", ` by ${item.author}${item.mine ? " (you)" : ""}`),
        make("div", null, item.text),
      );
      return li;
    }));
  }

  $("queue-button").addEventListener("click", () => { panel.hidden = false; ask(); });
  $("queue-refresh").addEventListener("click", ask);
  $("queue-close").addEventListener("click", () => { panel.hidden = true; });
  window.InkwellQueue = { render };
})();
