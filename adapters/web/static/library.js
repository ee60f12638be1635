// The story's cast panel (the element library) and "why these pictures" for the story room.
(() => {
  "use strict";
  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const panel = $("library-panel");
  const list = $("library-list");
  const message = $("library-message");
  const lookStrength = $("look-strength");
  const lookStrengthValue = $("look-strength-value");
  const make = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  };
  const ask = (obj) => window.InkwellRoom && window.InkwellRoom.send(obj);

  function open() {
    panel.hidden = false;
    message.textContent = "";
    ask({ type: "library" });
  }

  function button(label, testid, onClick) {
    const b = make("button", "secondary small", label);
    b.type = "button";
    b.dataset.testid = testid;
    b.addEventListener("click", onClick);
    return b;
  }

  function render(msg) {
    panel.hidden = false;
    message.textContent = msg.message || "";
    if (typeof msg.look_strength === "number") {
      lookStrength.value = String(msg.look_strength);
      lookStrengthValue.textContent = msg.look_strength.toFixed(1);
    }
    if (!msg.elements.length) {
      list.replaceChildren(make("li", "muted", "Nothing yet: the cast fills as the story is drawn."));
      return;
    }
    list.replaceChildren(...msg.elements.map((e) => {
      const li = make("li", "library-element");
      li.dataset.testid = "library-element";
      li.dataset.name = e.name;
      if (e.thumbnail) {
        const img = make("img", "library-thumb");
        img.src = e.thumbnail + (location.search.includes("token=") ? location.search : "");
        img.alt = `How ${e.name} looks`;
        img.dataset.testid = "library-thumb";
        li.append(img);
      }
      const about = make("div", "library-about");
      const pronoun = e.pronoun ? ` · ${e.pronoun}` : "";
      about.append(make("strong", "", e.name), make("span", "muted", ` ${e.kind}${pronoun} · drawn ${e.count}×`));
      if (e.pinned) about.append(make("span", "badge", "pinned"));
      const described = make("div", "library-description", e.description ? `drawn as: ${e.description}` : "no description yet");
      described.dataset.testid = "library-description";
      about.append(described);
      if (e.aliases.length) about.append(make("div", "muted", `also: ${e.aliases.join(", ")}`));
      const picker = make("input");
      picker.type = "file";
      picker.accept = "image/png,image/jpeg,image/webp,image/gif";
      picker.hidden = true;
      picker.dataset.testid = "library-reference-file";
      picker.addEventListener("change", () => uploadReference(e.name, picker.files[0]));
      const actions = make("div", "library-actions");
      actions.append(
        button("Describe", "library-describe", () => {
          const words = window.prompt(`How is “${e.name}” drawn? (e.g. grey beard, green apron; empty clears)`, e.description || "");
          if (words !== null) ask({ type: "describe", name: e.name, description: words });
        }),
        button("Pronoun", "library-pronoun", () => {
          const word = window.prompt(`Which pronoun refers to “${e.name}”? (he, she, it, they)`, e.pronoun || "");
          if (word && word.trim()) ask({ type: "pronoun", name: e.name, pronoun: word });
        }),
        button("Reference picture…", "library-reference", () => picker.click()),
        button("Rename", "library-rename", () => {
          const to = window.prompt(`Rename “${e.name}” to:`, e.name);
          if (to && to.trim()) ask({ type: "rename", name: e.name, new_name: to });
        }),
        button("Merge into…", "library-merge", () => {
          const into = window.prompt(`“${e.name}” is the same as:`);
          if (into && into.trim()) ask({ type: "merge", name: e.name, into });
        }),
        button(e.pinned ? "Unpin" : "Pin look", "library-pin", () => {
          ask({ type: "pin", name: e.name, pinned: !e.pinned });
        }),
        button("Forget", "library-forget", () => {
          if (window.confirm(`Forget “${e.name}”? It will be learned afresh if it appears again.`)) {
            ask({ type: "forget", name: e.name });
          }
        }),
      );
      li.append(about, actions, picker);
      return li;
    }));
  }

  async function uploadReference(name, file) {
    const room = window.InkwellRoom;
    if (!file || !room || !room.room()) return;
    message.textContent = `Uploading a picture of ${name}…`;
    const url = `/api/rooms/${encodeURIComponent(room.room())}/cast/${encodeURIComponent(name)}/reference?author=${encodeURIComponent(room.author())}`;
    try {
      const res = await fetch(room.withToken(url), {
        method: "POST",
        headers: { "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || `The upload failed (${res.status}).`);
      render(data); // the room's broadcast says the same; this covers a dropped socket
    } catch (err) {
      message.textContent = "";
      room.showBanner(err.message || "The picture couldn't be uploaded.");
    }
  }

  const percent = (x) => (typeof x === "number" ? x.toFixed(3) : "–");

  function showWhy(msg) {
    const card = document.querySelector(`[data-paragraph-id="${CSS.escape(msg.paragraph_id)}"]`);
    if (!card) return;
    const box = card.querySelector('[data-testid="why"]');
    box.hidden = false;
    const parts = [];
    if (msg.note) parts.push(make("p", "muted", msg.note));
    if (!msg.illustrations.length) parts.push(make("p", "muted", "No pictures were drawn for this paragraph."));
    msg.illustrations.forEach((d) => {
      const block = make("div", "why-item");
      block.append(make("strong", "", d.text));
      const screening = d.screening
        ? `screened: drawable ${d.screening.generability}/2${d.screening.verb_included ? ", an action" : ""}`
        : "";
      const drawn = d.candidate_scores && d.candidate_scores.length;
      const lines = [
        d.request ? `edited: “${d.request}”, read as ${d.read_as}` : "",
        `branch: ${d.branch || "sentence"}${screening ? " · " + screening : ""}`,
        drawn ? `chosen: candidate ${d.candidate_index + 1} of ${d.candidate_scores.length} by ${d.selection || "text match"}` : "",
        drawn ? `scores: ${d.candidate_scores.map(percent).join(", ")}` : "",
        drawn ? `match with the text: ${(d.image_text_scores || []).map(percent).join(", ")}` : "",
        d.elements && d.elements.length ? `story elements seen: ${d.elements.join(", ")}` : "",
        `seed ${d.seed} · ${d.steps} steps · models ${d.profile}${d.style_ref ? " · styled by " + (d.style_method || "the style branch") : ""}${d.genre ? ` · genre ${d.genre}` : ""}`,
        d.drawing_mode === "direct" ? "drawing mode: direct (seed 000: the chosen candidate is the picture)" : "",
        d.looks && d.looks.length ? lookLine(d) : "",
        d.restorer ? `enhanced by ${d.restorer === "img2img" ? "img2img" : "the " + d.restorer + " restorer"}` : "",
      ];
      lines.filter(Boolean).forEach((line) => block.append(make("div", "muted", line)));
      if (d.drawing_mode === "composed" && d.composition) block.append(composedStages(d));
      parts.push(block);
    });
    box.replaceChildren(...parts);
  }

  // Seed 001: how a composed picture was made, stage by stage, with each stage's picture.
  function composedStages(d) {
    const c = d.composition;
    const r = c.reading || {};
    const box = make("div", "composed-stages");
    box.dataset.testid = "composed-stages";
    const list = (xs) => (xs && xs.length ? xs.join(", ") : "–");
    const lines = [
      "composed (seed 001)",
      `read: background ${list(r.background)} · foreground ${list(r.foreground)}`,
      r.emotions && r.emotions.length ? `emotion ${list(r.emotions)} → ${list(r.emotion_elements)}` : "",
      r.topic_elements && r.topic_elements.length ? `topics → ${list(r.topic_elements)}` : "",
      c.additional_input ? `changed: ${c.additional_input}` : "",
      `background: ${(c.background || {}).how || ""}`,
      ...(c.foreground || []).map((e) =>
        `${e.word}: drawn ${e.drawn || ""}; ${e.box ? "merged where first drawn" : "not merged"}`),
      c.sketch ? `sketch: ${c.sketch}` : "",
      `rendered by ${(c.render || {}).method || ""} in the style “${c.style || r.style || ""}”${r.style_from ? ` (from ${r.style_from})` : ""}`,
    ];
    lines.filter(Boolean).forEach((line) => box.append(make("div", "muted", line)));
    const strip = make("div", "stage-strip");
    (d.stage_images || []).forEach((s) => {
      const fig = make("figure", "stage");
      const img = make("img");
      img.src = window.InkwellRoom.withToken(s.url);
      img.alt = s.stage;
      img.dataset.testid = "stage-image";
      fig.append(img, make("figcaption", null, s.stage));
      strip.append(fig);
    });
    box.append(strip);
    return box;
  }

  function lookLine(d) {
    const names = [...new Set(d.looks)].join(", ");
    const method = d.look_method || "";
    if (method.startsWith("none")) return `looks of ${names} not drawn with (${method.replace(/^none: /, "")})`;
    return `drawn with the looks of ${names} (strength ${d.look_strength}, ${method})`;
  }

  // Every candidate a paragraph's pictures were chosen from, drawn again from their seeds.
  function showCandidates(msg) {
    const card = document.querySelector(`[data-paragraph-id="${CSS.escape(msg.paragraph_id)}"]`);
    if (!card) return;
    const box = card.querySelector('[data-testid="candidates"]');
    box.hidden = false;
    box.replaceChildren(...msg.images.map((im) => {
      const fig = make("figure", im.chosen ? "candidate chosen" : "candidate");
      const img = make("img");
      img.src = im.data_url;
      img.alt = im.caption;
      img.dataset.testid = "candidate";
      fig.append(img, make("figcaption", null, im.caption));
      return fig;
    }));
  }

  $("library-button").addEventListener("click", open);
  $("library-close").addEventListener("click", () => { panel.hidden = true; });
  lookStrength.addEventListener("input", () => {
    lookStrengthValue.textContent = Number(lookStrength.value).toFixed(1);
  });
  lookStrength.addEventListener("change", () => {
    ask({ type: "looks", strength: Number(lookStrength.value) });
  });
  window.InkwellLibrary = { render, showWhy, showCandidates, open };
})();
