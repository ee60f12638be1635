// Inkwell training room: stage controls, live losses, the shown sample and its feedback.
(() => {
  "use strict";
  const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
  const token = new URLSearchParams(location.search).get("token");
  const withToken = (url) =>
    token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
  const COLOURS = { pixel: "#3355cc", scorer: "#cc7a00", joint: "#2a9d55" };
  const NAMES = { pixel: "stage 1 (pixels)", scorer: "stage 2 (scorer)", joint: "stage 3 (pixels + text)" };
  const el = {
    badge: byTestId("training-badge"), status: byTestId("training-status"),
    error: byTestId("training-error"), curve: byTestId("loss-curve"),
    legend: byTestId("loss-legend"), results: byTestId("stage-results"),
    samples: byTestId("sample-list"), shown: byTestId("shown-sample"),
    input: byTestId("sample-input"), prediction: byTestId("sample-prediction"),
    clean: byTestId("sample-clean"), form: byTestId("feedback-form"),
    text: byTestId("feedback-input"), save: byTestId("feedback-save"),
    lock: byTestId("feedback-lock"), result: byTestId("feedback-result"),
    list: byTestId("feedback-list"), stop: byTestId("stop-training"),
  };
  const state = { shown: null, samples: [], lastPoints: -1, status: "idle" };

  async function call(method, url, body) {
    const response = await fetch(withToken(url), {
      method, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
    return data;
  }
  const picture = (id, kind, bust) =>
    withToken(`/api/training/samples/${encodeURIComponent(id)}/${kind}.png?v=${bust}`);

  function show(id) {
    state.shown = id;
    const sample = state.samples.find((s) => s.id === id);
    el.shown.textContent = `Sample ${id}` + (sample ? ` — damage: ${sample.complaint}` : "");
    const bust = Date.now();
    el.input.src = picture(id, "input", 0);
    el.clean.src = picture(id, "clean", 0);
    el.prediction.src = picture(id, "prediction", bust);
    for (const b of el.samples.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.id === id));
    renderFeedback(sample);
  }
  function renderFeedback(sample) {
    el.list.replaceChildren(...(sample?.feedback || []).map((t) => {
      const li = document.createElement("li");
      li.textContent = t;
      return li;
    }));
  }
  async function loadSamples() {
    const data = await call("GET", "/api/training/samples");
    state.samples = data.samples;
    el.samples.replaceChildren(...data.samples.map((s) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.id = s.id;
      b.dataset.testid = "sample";
      b.title = `${s.id}: ${s.complaint}`;
      const img = document.createElement("img");
      img.src = picture(s.id, "input", 0);
      img.alt = `Sample ${s.id}`;
      b.append(img);
      b.addEventListener("click", () => show(s.id));
      li.append(b);
      return li;
    }));
    if (!state.shown && data.samples.length) show(data.samples[0].id);
  }

  function drawCurve(points) {
    const c = el.curve, g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    if (!points.length) return;
    const pad = 30, w = c.width - 2 * pad, h = c.height - 2 * pad;
    const max = Math.max(...points.map((p) => p.loss)) || 1;
    g.strokeStyle = "#999"; g.beginPath(); g.moveTo(pad, pad); g.lineTo(pad, pad + h); g.lineTo(pad + w, pad + h); g.stroke();
    g.fillStyle = "#555"; g.font = "11px sans-serif";
    g.fillText(max.toFixed(3), 2, pad + 4); g.fillText("0", pad - 10, pad + h);
    g.fillText(`${points.length} steps`, pad + w - 50, pad + h + 16);
    let previous = null;
    points.forEach((p, i) => {
      const x = pad + (points.length === 1 ? 0 : (i / (points.length - 1)) * w);
      const y = pad + h - (p.loss / max) * h;
      if (previous && previous.stage === p.stage) {
        g.strokeStyle = COLOURS[p.stage]; g.beginPath(); g.moveTo(previous.x, previous.y); g.lineTo(x, y); g.stroke();
      }
      previous = { x, y, stage: p.stage };
    });
    const stages = [...new Set(points.map((p) => p.stage))];
    el.legend.replaceChildren(...stages.map((s) => {
      const span = document.createElement("span");
      span.textContent = `■ ${NAMES[s]}  `;
      span.style.color = COLOURS[s];
      return span;
    }));
  }

  function render(snap) {
    state.status = snap.status;
    el.badge.textContent = `Models: ${snap.profile} · restorer: ${snap.restorer}`;
    el.badge.classList.toggle("warn", snap.restorer !== "trained");
    const last = snap.points[snap.points.length - 1];
    let text = "Idle.";
    if (snap.status === "preparing") text = `Loading models for ${NAMES[snap.stage]}…`;
    else if (snap.status === "running" || snap.status === "stopping") {
      text = `${snap.status === "stopping" ? "Stopping" : "Running"} ${NAMES[snap.stage]}`;
      if (last && last.stage === snap.stage) {
        text += `: step ${last.step}/${snap.max_steps} · loss ${last.loss.toFixed(4)}`;
        if (last.text != null) text += ` (pixels ${last.pixel.toFixed(4)}, text ${last.text.toFixed(4)})`;
      }
    } else if (snap.results.length) {
      const r = snap.results[snap.results.length - 1];
      text = `Idle. Last: ${NAMES[r.stage]} stopped after ${r.steps} steps (${r.reason.replace("_", " ")}), loss ${r.final_loss.toFixed(4)}.`;
    }
    el.status.textContent = text;
    el.status.dataset.status = snap.status;
    el.error.textContent = snap.error || "";
    el.results.replaceChildren(...snap.results.map((r) => {
      const li = document.createElement("li");
      li.textContent = `${NAMES[r.stage]}: ${r.steps} steps, loss ${r.final_loss.toFixed(4)} (${r.reason.replace("_", " ")})`;
      return li;
    }));
    const busy = snap.status !== "idle";
    for (const b of document.querySelectorAll("[data-stage]")) b.disabled = busy;
    el.stop.disabled = !busy;
    // [0335]: no labelling while the first stage runs.
    const locked = busy && snap.stage === "pixel";
    el.text.disabled = el.save.disabled = locked;
    el.lock.hidden = !locked;
    if (snap.points.length !== state.lastPoints) {
      state.lastPoints = snap.points.length;
      drawCurve(snap.points);
      if (state.shown) el.prediction.src = picture(state.shown, "prediction", Date.now());
    }
  }
  async function poll() {
    try {
      render(await call("GET", "/api/training"));
      if (!state.samples.length) await loadSamples();
    } catch (error) {
      el.error.textContent = error.message;
    }
    setTimeout(poll, state.status === "idle" ? 1500 : 500);
  }

  for (const button of document.querySelectorAll("[data-stage]")) {
    button.addEventListener("click", async () => {
      el.error.textContent = "";
      try { render({ profile: "…", restorer: "…", ...(await call("POST", "/api/training/start", { stage: button.dataset.stage })) }); }
      catch (error) { el.error.textContent = error.message; }
    });
  }
  el.stop.addEventListener("click", async () => {
    try { await call("POST", "/api/training/stop"); } catch (error) { el.error.textContent = error.message; }
  });
  el.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!state.shown) return;
    const text = el.text.value;
    try {
      const data = await call("POST", `/api/training/samples/${encodeURIComponent(state.shown)}/feedback`, { text });
      el.result.textContent = data.positive
        ? `Saved for sample ${data.sample}: names a defect (label 1); stage 3 aims at its reverse, “${data.target}”.`
        : `Saved for sample ${data.sample}: already describes the goal; stage 3 aims at “${data.target}”, and “${data.opposite}” is its opposite.`;
      const sample = state.samples.find((s) => s.id === data.sample);
      if (sample) { sample.feedback.push(text.trim()); sample.target = data.target; renderFeedback(sample); }
      el.text.value = "";
    } catch (error) {
      el.result.textContent = error.message;
    }
  });
  poll();
})();
