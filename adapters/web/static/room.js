// Inkwell web story room: room picker, live story view and composer over one WebSocket.
(() => {
  "use strict";

  const MAX_CHARS = 4000;
  const TOKEN_REFUSED = 4401; // websocket close code the server uses for a missing token
  const OFFLINE = "Not connected to the room right now — your text is kept; post again once reconnected.";
  const TERMINAL = new Set(["done", "failed", "cancelled"]);
  const $ = (sel) => document.querySelector(sel);
  const byTestId = (id, root = document) => root.querySelector(`[data-testid="${id}"]`);

  const el = {
    roomList: byTestId("room-list"), roomsEmpty: $("#rooms-empty"),
    roomInput: byTestId("room-name-input"), openForm: $("#open-room-form"),
    author: byTestId("author-input"), title: byTestId("room-title"), badge: byTestId("profile-badge"),
    pane: $("#story-pane"), placeholder: $("#placeholder"),
    story: byTestId("story"), loadEarlier: byTestId("load-earlier"),
    form: $("#composer-form"), composer: byTestId("composer"), post: byTestId("post-button"),
    stop: byTestId("stop-button"), count: byTestId("char-count"),
    composerError: byTestId("composer-error"), composerStatus: $("#composer-status"),
    connBanner: $("#conn-banner"), errBanner: $("#error-banner"),
    errText: $("#error-banner-text"), errClose: $("#error-banner-close"),
    cardTemplate: $("#paragraph-template"),
    styleBar: $("#style-bar"), styleImg: byTestId("style-image"), styleStatus: byTestId("style-status"),
    styleMessage: byTestId("style-message"), styleNote: byTestId("style-note"),
    styleStrength: byTestId("style-strength"), styleStrengthValue: byTestId("style-strength-value"),
    styleUpload: byTestId("style-upload"), styleClear: byTestId("style-clear"),
    genreSelect: byTestId("genre-select"), genreNote: byTestId("genre-note"),
    genreMessage: byTestId("genre-message"),
    mode: byTestId("mode-select"),
  };

  const token = new URLSearchParams(location.search).get("token");
  const state = {
    room: null,          // room the user asked for (from the hash)
    joined: false,       // false between sending join and receiving joined
    ws: null, connected: false, backoff: 500, retryTimer: null,
    pending: null,       // {clientId, text, timer} for our post awaiting accepted/error
    paras: new Map(),    // paragraph_id -> {entry, stage, fraction, queuePos, images, notes, card}
    delivered: new Set(),  // delivery ids of illustration posts shown (a resend is shown once)
    rooms: [], loadingEarlier: false,
  };

  // ---------- helpers ----------
  function withToken(url) {
    if (!token) return url;
    return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
  }
  const charLen = (s) => Array.from(s).length; // code points, like the server's len()
  const make = (tag, cls, text) => {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  };
  // randomUUID only exists in secure contexts, e.g. not on http://<LAN address>
  const newClientId = () => crypto.randomUUID?.() ?? "c" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  function formatTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const sameDay = d.toDateString() === new Date().toDateString();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return sameDay ? time : d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
  }
  function setProfile(profile) {
    if (!profile) return;
    el.badge.textContent = profile === "tiny"
      ? "Models: tiny (random weights — images are noise)" : `Models: ${profile}`;
    el.badge.classList.toggle("tiny", profile === "tiny");
  }
  const showBanner = (text) => { el.errText.textContent = text; el.errBanner.hidden = false; };
  const errorText = (m) => (m.message || "Something went wrong.") + (m.reference ? ` (ref ${m.reference})` : "");
  // on narrow screens the page scrolls instead of the story pane (see room.css)
  const scroller = () => (getComputedStyle(el.pane).overflowY === "visible" ? document.scrollingElement : el.pane);
  const nearBottom = () => { const s = scroller(); return s.scrollHeight - s.scrollTop - s.clientHeight < 80; };
  const scrollToBottom = () => { const s = scroller(); s.scrollTop = s.scrollHeight; };

  // ---------- rooms ----------
  async function loadRooms() {
    try {
      const res = await fetch(withToken("/api/rooms"));
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || `Could not load rooms (${res.status}).`);
      setProfile(data.profile);
      state.rooms = data.rooms || [];
      renderRooms();
    } catch (err) {
      showBanner(err.message || "Could not load the list of rooms.");
    }
  }
  function renderRooms() {
    const rooms = state.rooms;
    el.roomList.replaceChildren(...rooms.map((r) => {
      const a = make("a", "room-link");
      a.href = "#room=" + encodeURIComponent(r.id);
      if (r.id === state.room) a.setAttribute("aria-current", "page");
      a.append(make("span", "room-name", r.title || r.id),
               make("span", "room-count", `${r.paragraphs} ¶`));
      a.title = `${r.paragraphs} paragraph${r.paragraphs === 1 ? "" : "s"}`;
      const li = make("li");
      li.append(a);
      return li;
    }));
    el.roomsEmpty.hidden = rooms.length > 0;
  }
  function roomFromHash() {
    const m = /^#room=(.*)$/.exec(location.hash);
    if (!m) return null;
    try { return decodeURIComponent(m[1]).trim() || null; } catch { return null; }
  }
  function enterRoom(name) {
    state.room = name;
    state.joined = false;
    clearStory();
    el.title.textContent = name || "No room open";
    document.title = name ? `${name} — Inkwell` : "Inkwell — story room";
    el.placeholder.hidden = !!name;
    el.errBanner.hidden = true;
    setComposerError(""); // the draft itself stays in the textarea across rooms
    resetStyle();
    resetGenres();
    renderRooms();
    updateComposer();
    sendJoin();
  }

  // ---------- websocket ----------
  function connect() {
    clearTimeout(state.retryTimer);
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(withToken(`${proto}//${location.host}/ws`));
    state.ws = ws;
    ws.onopen = () => {
      state.connected = true;
      state.backoff = 500;
      el.connBanner.hidden = true;
      sendJoin();
      updateComposer();
    };
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      handle(msg);
    };
    ws.onclose = (ev) => {
      if (state.ws !== ws) return;
      state.connected = false;
      state.joined = false;
      clearPending();
      if (ev.code === TOKEN_REFUSED) {
        // retrying can't help: the link lacks the room's token
        showBanner(ev.reason || "This story room needs its access token in the link.");
        updateComposer();
        return;
      }
      el.connBanner.hidden = false;
      updateComposer();
      // jitter so many tabs don't reconnect in lockstep after a server restart
      const delay = state.backoff * (0.75 + Math.random() * 0.5);
      state.backoff = Math.min(state.backoff * 2, 15000);
      state.retryTimer = setTimeout(connect, delay);
    };
  }
  function send(obj) {
    if (!state.connected || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(obj));
    return true;
  }
  function sendJoin() {
    if (!state.room) return;
    state.joined = false;
    send({ type: "join", room: state.room, author: author() });
  }
  const author = () => el.author.value.trim() || "Writer";

  function handle(msg) {
    switch (msg.type) {
      case "joined":
        state.joined = true;
        if (el.composerError.textContent === OFFLINE) setComposerError("");
        if (msg.room) el.title.textContent = msg.room;
        setProfile(msg.profile);
        updateComposer();
        loadRooms();
        send({ type: "settings" }); // the story's drawing mode, for the mode menu
        return;
      case "story": return onStory(msg);
      case "error": return onError(msg);
      case "accepted": return onAccepted(msg);
    }
    // Until the join is confirmed, room traffic may still belong to the previous room.
    if (!state.joined) return;
    switch (msg.type) {
      case "posted": {
        const stick = nearBottom();
        upsert(msg.entry.paragraph_id, { entry: msg.entry });
        const r = state.rooms.find((x) => x.id === state.room);
        // a room exists once its first paragraph is stored, so it may be missing from the list
        if (!r) state.rooms.push({ id: state.room, title: state.room, paragraphs: msg.entry.seq });
        else if (msg.entry.seq > r.paragraphs) r.paragraphs = msg.entry.seq;
        renderRooms();
        if (stick || (state.pending && msg.entry.client_id === state.pending.clientId)) scrollToBottom();
        return;
      }
      case "progress":
        return upsert(msg.paragraph_id, {
          stage: msg.stage, fraction: msg.fraction, queuePos: msg.queue_position, detail: msg.detail,
        });
      case "illustrations":
        // A post resent after the bot restarted carries the id of the one already shown.
        if (msg.delivery_id && state.delivered.has(msg.delivery_id)) return;
        if (msg.delivery_id) state.delivered.add(msg.delivery_id);
        setProfile(msg.profile);
        return upsert(msg.paragraph_id, {
          images: mergedImages(state.paras.get(msg.paragraph_id), msg.images || []),
          stage: "done",
          fraction: 1,
        });
      case "text":
        if (msg.paragraph_id) return addNote(msg.paragraph_id, msg.text, "note");
        return showBanner(msg.text);
      case "style":
        return onStyle(msg);
      case "genres":
        return onGenres(msg);
      case "settings":
        el.mode.value = msg.drawing_mode;
        return;
      case "library":
        return window.InkwellLibrary.render(msg);
      case "why":
        return window.InkwellLibrary.showWhy(msg);
      case "candidates":
        return window.InkwellLibrary.showCandidates(msg);
      case "queue":
        return window.InkwellQueue.render(msg);
    }
  }

  // ---------- style reference ----------
  // The reference applies to illustrations drawn after it is set; earlier ones never change.
  function resetStyle() {
    el.styleBar.hidden = !state.room;
    onStyle({ image_url: null, strength: 1, note: "" });
    el.styleMessage.textContent = "";
  }
  function onStyle(msg) {
    el.styleImg.hidden = !msg.image_url;
    if (msg.image_url) el.styleImg.src = withToken(msg.image_url);
    else el.styleImg.removeAttribute("src");
    el.styleStatus.textContent = msg.image_url
      ? `Style reference set by ${msg.set_by || "a writer"}` : "No style reference";
    const strength = Number(msg.strength ?? 1);
    el.styleStrength.value = String(strength);
    el.styleStrengthValue.textContent = strength.toFixed(1);
    el.styleClear.disabled = !msg.image_url;
    // e.g. "no trained style branch yet": writers must see when a style can't take effect
    el.styleNote.textContent = msg.note || "";
    el.styleNote.hidden = !msg.note;
    if (msg.changed) el.styleMessage.textContent = msg.message || "";
  }
  // ---------- genre ----------
  // The engine's trained genre adapters; the pick applies to paragraphs drawn after it.
  function onGenres(msg) {
    const choices = [{ name: "none", label: "none" }].concat(
      (msg.genres || []).map((g) => ({
        name: g.name,
        label: g.phrase && g.phrase !== g.name ? `${g.name} (${g.phrase})` : g.name,
        title: `${g.pictures} pictures, ${g.steps} steps`,
      })));
    if (msg.gone && msg.current) {
      choices.push({ name: msg.current, label: `${msg.current} (no longer trained)`, disabled: true });
    }
    el.genreSelect.replaceChildren(...choices.map((c) => {
      const option = make("option", null, c.label);
      option.value = c.name;
      if (c.title) option.title = c.title;
      if (c.disabled) option.disabled = true;
      return option;
    }));
    el.genreSelect.value = msg.current || "none";
    el.genreSelect.dataset.current = msg.current || "none";
    const note = msg.gone && msg.current
      ? `The genre ${msg.current} is no longer trained: later pictures are drawn without one.`
      : (msg.genres || []).length ? "" : "No genres are trained yet.";
    el.genreNote.textContent = note;
    el.genreNote.hidden = !note;
    el.genreMessage.textContent = msg.message || "";  // who changed it, and what that means
  }
  function resetGenres() {
    onGenres({ genres: [], current: null, gone: false });
  }

  async function uploadStyle(file) {
    if (!state.room || !file) return;
    el.styleMessage.textContent = "Uploading the style picture…";
    const url = `/api/rooms/${encodeURIComponent(state.room)}/style?author=${encodeURIComponent(author())}`;
    try {
      const res = await fetch(withToken(url), {
        method: "POST",
        headers: { "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || `The upload failed (${res.status}).`);
      onStyle(data); // the room's broadcast says the same; this covers a dropped socket
    } catch (err) {
      el.styleMessage.textContent = "";
      showBanner(err.message || "The style picture couldn't be uploaded.");
    }
  }

  // ---------- story ----------
  function clearStory() {
    state.paras.clear();
    el.story.replaceChildren();
    setLoadingEarlier(false);
    el.loadEarlier.hidden = true;
  }
  const stageOfStatus = (status) => (status === "illustrating" ? "generating" : status);
  function onStory(msg) {
    const older = msg.before_seq != null;
    if (older && !state.joined) return;
    const entries = msg.entries || [];
    if (!older) {
      clearStory();
      entries.forEach((e) => upsert(e.paragraph_id, { entry: e }));
      requestAnimationFrame(scrollToBottom);
    } else {
      // keep the paragraph the reader was looking at in place while content grows above it
      const s = scroller();
      const fromBottom = s.scrollHeight - s.scrollTop;
      entries.forEach((e) => upsert(e.paragraph_id, { entry: e }));
      s.scrollTop = s.scrollHeight - fromBottom;
    }
    setLoadingEarlier(false);
    el.loadEarlier.hidden = !msg.has_more;
  }
  function setLoadingEarlier(on) {
    state.loadingEarlier = on;
    el.loadEarlier.disabled = on;
    el.loadEarlier.textContent = on ? "Loading…" : "Load earlier paragraphs";
  }
  function upsert(id, patch) {
    if (!id) return;
    let p = state.paras.get(id);
    if (!p) {
      p = { entry: null, stage: null, fraction: null, queuePos: null, detail: "", images: null, notes: [] };
      state.paras.set(id, p);
    }
    if (patch.entry) {
      const e = patch.entry;
      p.entry = e;
      // a live progress stage is fresher than the status in a (possibly old) entry
      if (!p.stage || TERMINAL.has(stageOfStatus(e.status))) p.stage = stageOfStatus(e.status);
      if (e.illustrations?.length && !p.images) p.images = e.illustrations;
      if (e.note && !p.notes.some((n) => n.text === e.note)) p.notes.push({ text: e.note, kind: "note" });
      delete patch.entry;
    }
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) p[k] = v;
    if (p.entry) render(id, p);
  }
  function addNote(id, text, kind) {
    const p = state.paras.get(id);
    if (!p) return showBanner(text);
    p.notes.push({ text, kind });
    if (p.entry) render(id, p);
  }
  function insertCard(card, seq) {
    const after = [...el.story.children].find((c) => Number(c.dataset.seq) > seq);
    el.story.insertBefore(card, after || null);
  }
  function statusText(p) {
    switch (p.stage) {
      case "queued": return p.queuePos ? `Queued — position ${p.queuePos}` : "Queued";
      case "generating":
        if (p.detail === "Composing") return "Composing the pictures: background, elements, sketch…";
        return p.fraction != null ? `Drawing… ${Math.round(p.fraction * 100)}%` : "Drawing…";
      case "scoring": return "Choosing the best picture…";
      case "cancelled": return "Illustration stopped.";
      case "failed": return "Couldn't illustrate this paragraph.";
      default: return "";
    }
  }
  function render(id, p) {
    const e = p.entry;
    if (!p.card) {
      p.card = el.cardTemplate.content.firstElementChild.cloneNode(true);
      p.card.dataset.paragraphId = id;
      p.card.querySelector(".why-button").addEventListener("click", () => {
        send({ type: "why", paragraph_id: id });
      });
      p.card.querySelector(".candidates-button").addEventListener("click", () => {
        send({ type: "candidates", paragraph_id: id });
      });
      insertCard(p.card, e.seq);
    }
    const card = p.card;
    card.dataset.seq = e.seq;
    card.querySelector(".para-author").textContent = e.author || "Anonymous";
    const time = card.querySelector(".para-time");
    time.dateTime = e.posted_at || "";
    time.textContent = formatTime(e.posted_at);
    card.querySelector(".para-text").textContent = e.text;

    const active = p.stage && !TERMINAL.has(p.stage);
    const bar = card.querySelector("progress");
    const frac = p.stage === "done" ? 1 : p.fraction;
    if (frac != null && p.stage !== "queued") {
      bar.value = Math.max(0, Math.min(1, frac));
      bar.dataset.fraction = String(bar.value);
    } else {
      bar.removeAttribute("value"); // indeterminate while waiting in the queue
      bar.dataset.fraction = "0";
    }
    bar.hidden = !active;
    card.querySelector(".para-status").textContent = statusText(p);
    card.querySelector(".para-detail").textContent = active && p.detail ? p.detail : "";
    card.querySelector(".para-progress").hidden = !statusText(p);

    const imgs = card.querySelector(".para-images");
    if (p.images && p.shownImages !== p.images) {
      p.shownImages = p.images;
      imgs.replaceChildren(...p.images.map((im) => {
        const fig = make("figure", "illustration");
        const img = make("img");
        img.dataset.testid = "illustration";
        img.src = withToken(im.url);
        img.alt = im.caption || "Illustration";
        img.width = img.height = 512; // reserves space so scroll position doesn't jump on load
        fig.append(img);
        if (im.caption) fig.append(make("figcaption", null, im.caption));
        if (im.illustration_id) fig.append(editRow(im.illustration_id));
        if (im.illustration_id) fig.append(enhanceButton(im.illustration_id));
        return fig;
      }));
    }
    const pics = [...imgs.querySelectorAll("img")];
    if (p.stage === "done" && pics.some((i) => !i.complete)) {
      // say "done" only once the pictures are actually showing (broken ones count as settled)
      Promise.allSettled(pics.map((i) => i.decode())).then(() => {
        if (p.stage === "done") card.dataset.stage = "done";
      });
    } else {
      card.dataset.stage = p.stage || "";
    }
    card.querySelector(".para-notes").replaceChildren(...p.notes.map((n) => {
      const d = make("p", `para-note ${n.kind}`, n.text);
      d.dataset.testid = "paragraph-error";
      return d;
    }));
  }

  // ---------- edits: a reply box and undo / redo / original under each picture ----------
  // An edit (or undo) brings one sentence's new version: it replaces that picture only.
  function mergedImages(p, images) {
    const edits = images.length && images.every((im) => im.sentence_index != null);
    if (!edits || !p || !p.images) return images;
    const next = [...p.images];
    for (const im of images) {
      if (im.sentence_index < next.length) next[im.sentence_index] = im;
      else next.push(im);
    }
    return next;
  }
  function editRow(illustrationId) {
    const form = make("form", "edit-row");
    const input = make("input");
    input.type = "text";
    input.maxLength = 300;
    input.placeholder = "Change this picture, e.g. “I prefer darker”";
    input.setAttribute("aria-label", "Change this picture");
    input.dataset.testid = "edit-input";
    const change = make("button", "small", "Change");
    change.type = "submit";
    change.dataset.testid = "edit-send";
    const request = (text) => send({ type: "edit", illustration_id: illustrationId, text });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (text && request(text)) input.value = "";
    });
    const buttons = [["Undo", "undo"], ["Redo", "redo"], ["Original", "show the original"]].map(
      ([label, text]) => {
        const b = make("button", "small secondary", label);
        b.type = "button";
        b.dataset.testid = `edit-${label.toLowerCase()}`;
        b.addEventListener("click", () => request(text));
        return b;
      },
    );
    form.append(input, change, ...buttons);
    return form;
  }
  // ---------- enhance (seed 002): the restorer's version replaces that sentence's picture ----------
  function enhanceButton(illustrationId) {
    const b = make("button", "link enhance-button", "Enhance");
    b.type = "button";
    b.dataset.testid = "enhance-button";
    b.title = "Sharpen, denoise and remove scratches";
    b.addEventListener("click", () => {
      b.disabled = true;
      b.textContent = "Enhancing…";
      send({ type: "enhance", illustration_id: illustrationId });
      // the new version re-renders the picture; after a failure (shown as an error) try again
      setTimeout(() => { b.disabled = false; b.textContent = "Enhance"; }, 15000);
    });
    return b;
  }

  // ---------- composer ----------
  function updateComposer() {
    const n = charLen(el.composer.value);
    el.count.textContent = `${n.toLocaleString("en-US")} / ${MAX_CHARS.toLocaleString("en-US")}`;
    el.count.classList.toggle("over", n > MAX_CHARS);
    const ready = state.connected && state.joined && !!state.room;
    el.post.disabled = !state.room || !!state.pending;
    el.stop.disabled = !ready;
    el.composer.disabled = !state.room;
    el.composerStatus.textContent = state.pending ? "Posting…"
      : state.room && !state.connected ? "Offline — your text stays here." : "";
  }
  function setComposerError(text) {
    el.composerError.textContent = text || "";
    el.composerError.hidden = !text;
  }
  function clearPending() {
    if (state.pending) clearTimeout(state.pending.timer);
    state.pending = null;
  }
  function post() {
    const text = el.composer.value;
    if (!state.room || state.pending) return;
    if (!text.trim()) return setComposerError("The paragraph is empty — write something first.");
    if (!state.connected || !state.joined) return setComposerError(OFFLINE);
    // A post whose answer never came (connection lost) keeps its id when sent again,
    // so the server can recognise it instead of storing the paragraph twice.
    const clientId = state.unanswered?.text === text ? state.unanswered.clientId : newClientId();
    if (!send({ type: "paragraph", text, client_id: clientId })) return;
    state.unanswered = { clientId, text };
    setComposerError("");
    // don't lock the Post button forever if the server never answers this post
    const timer = setTimeout(() => { clearPending(); updateComposer(); }, 20000);
    state.pending = { clientId, text, timer };
    updateComposer();
  }
  function onAccepted(msg) {
    if (state.unanswered?.clientId === msg.client_id) state.unanswered = null;
    if (!state.pending || msg.client_id !== state.pending.clientId) return;
    // only clear what was sent; anything typed since then stays
    if (el.composer.value === state.pending.text) el.composer.value = "";
    clearPending();
    setComposerError("");
    const p = state.paras.get(msg.paragraph_id);
    if (msg.paragraph_id && msg.queue_position != null && (!p?.stage || p.stage === "queued")) {
      upsert(msg.paragraph_id, { stage: "queued", queuePos: msg.queue_position });
    }
    updateComposer();
  }
  function onError(msg) {
    if (msg.client_id && state.unanswered?.clientId === msg.client_id) state.unanswered = null;
    if (msg.client_id && state.pending && msg.client_id === state.pending.clientId) {
      clearPending();
      setComposerError(errorText(msg));
      updateComposer();
    } else if (msg.paragraph_id && state.paras.get(msg.paragraph_id)?.entry) {
      addNote(msg.paragraph_id, errorText(msg), "error");
    } else {
      showBanner(errorText(msg));
      if (state.loadingEarlier) setLoadingEarlier(false); // likely our history request failed: allow a retry
    }
  }

  // ---------- wiring ----------
  el.author.value = localStorage.getItem("inkwell.author") || "Writer";
  el.author.addEventListener("input", () => localStorage.setItem("inkwell.author", author()));
  el.author.addEventListener("change", () => { el.author.value = author(); if (state.joined) sendJoin(); });

  el.openForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = el.roomInput.value.trim();
    if (!name) return el.roomInput.focus();
    el.roomInput.value = "";
    const hash = "#room=" + encodeURIComponent(name);
    if (location.hash === hash) enterRoom(name); else location.hash = hash;
  });
  window.addEventListener("hashchange", () => {
    const name = roomFromHash();
    if (name !== state.room) enterRoom(name);
  });

  el.form.addEventListener("submit", (ev) => { ev.preventDefault(); post(); });
  el.composer.addEventListener("input", updateComposer);
  el.composer.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); post(); }
  });
  el.stop.addEventListener("click", () => send({ type: "cancel" }));
  el.loadEarlier.addEventListener("click", () => {
    if (state.loadingEarlier) return;
    const seqs = [...state.paras.values()].filter((p) => p.entry).map((p) => p.entry.seq);
    if (!seqs.length) return;
    if (send({ type: "history", before_seq: Math.min(...seqs) })) setLoadingEarlier(true);
  });
  el.errClose.addEventListener("click", () => { el.errBanner.hidden = true; });
  el.styleUpload.addEventListener("change", () => {
    const file = el.styleUpload.files[0];
    el.styleUpload.value = ""; // choosing the same file again must upload again
    uploadStyle(file);
  });
  el.styleStrength.addEventListener("input", () => {
    el.styleStrengthValue.textContent = Number(el.styleStrength.value).toFixed(1);
  });
  el.styleStrength.addEventListener("change", () => {
    send({ type: "style_strength", strength: Number(el.styleStrength.value) });
  });
  el.styleClear.addEventListener("click", () => send({ type: "style_clear" }));
  el.genreSelect.addEventListener("change", () => {
    // The room's answer (to everyone) sets the picker; until then it shows the story's pick.
    const name = el.genreSelect.value;
    el.genreSelect.value = el.genreSelect.dataset.current || "none";
    if (!send({ type: "genre", name })) showBanner(OFFLINE);
  });
  el.mode.addEventListener("change", () => {
    send({ type: "mode", mode: el.mode.value });
    send({ type: "settings" });
  });

  // library.js asks the room for its cast and for "why" through the same socket, and
  // uploads an element's reference picture to the room it is in.
  window.InkwellRoom = { send, room: () => state.room, author, withToken, showBanner };

  enterRoom(roomFromHash());
  loadRooms();
  connect();
})();
