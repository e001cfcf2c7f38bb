/* mediafix: look closely. The compare view of a duplicate group (its pictures side by side at
   full resolution, zoom and pan kept in step) and a lightbox for the library and a file page.

   One Viewer shows one or more panes. The zoom is shared: each pane shows the same part of
   its own picture (centre u, v as fractions of the picture; z relative to "fit"), so a
   cropped or smaller copy is compared region for region. A pane shows the thumbnail at once,
   the 2048 px rendition when it arrives, then the full-size picture (/files/<id>/full).
   The group page's own keys (1-9, Shift+digit, K, Enter, N, arrows) keep working over it:
   they act on the page's checkboxes and buttons, which the viewer mirrors. */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const MAX_ZOOM = 8; // times the largest picture's actual pixels
  const typing = (el) => el && el.closest && el.closest("input, textarea, select, [contenteditable]");

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }

  // ---- the viewer ---------------------------------------------------------------------
  // items: [{id, display, full, thumb, width, height, kind, name, facts: [[label, value]],
  //          index, state: "keep" | "discard" | null, video: url|null, details: url}]
  function Viewer(options) {
    this.opts = options;
    this.z = 1; this.u = 0.5; this.v = 0.5;
    this.items = [];
    this.panes = [];
    this.build();
  }

  Viewer.prototype.build = function () {
    const o = this.opts;
    this.percent = el("output", { class: "viewer-percent", "aria-live": "polite", text: "Fit" });
    const zoomButton = (action, label, title, key) => {
      const b = el("button", { type: "button", class: "btn btn-sm viewer-btn", "data-zoom": action, title: title + (key ? " (" + key + ")" : ""), "aria-label": title }, [document.createTextNode(label)]);
      b.addEventListener("click", () => this.zoomAction(action));
      return b;
    };
    this.title = el("div", { class: "viewer-title" });
    this.closeButton = el("button", { type: "button", class: "btn btn-sm viewer-btn viewer-close", title: "Close (Esc)", "aria-label": "Close" }, [document.createTextNode("✕")]);
    this.closeButton.addEventListener("click", () => this.close());
    const bar = el("div", { class: "viewer-bar" }, [
      this.title,
      el("div", { class: "viewer-zoom", role: "group", "aria-label": "Zoom" }, [
        zoomButton("out", "−", "Zoom out", "-"),
        this.percent,
        zoomButton("in", "+", "Zoom in", "+"),
        zoomButton("fit", "Fit", "Fit the whole picture", "0"),
        zoomButton("actual", "1:1", "Actual pixels", "Z"),
      ]),
      this.closeButton,
    ]);
    this.paneBox = el("div", { class: "viewer-panes" });
    this.actions = el("div", { class: "viewer-actions" });
    this.root = el("div", { class: "viewer", role: "dialog", "aria-modal": "true", "aria-label": o.label, tabindex: "-1", hidden: true }, [bar, this.paneBox, this.actions]);
    document.body.appendChild(this.root);
    this.root.addEventListener("keydown", (e) => this.key(e));
    window.addEventListener("resize", () => { if (!this.root.hidden) { this.evenCaptions(); this.render(); } });
  };

  Viewer.prototype.open = function (items, title) {
    if (this.root.hidden) this.returnFocus = document.activeElement; // not when moving on
    this.items = items;
    this.title.textContent = title || "";
    this.paneBox.innerHTML = "";
    const n = items.length;
    this.paneBox.dataset.count = String(n);
    this.paneBox.style.setProperty("--cols", String(n <= 3 ? n : n === 4 ? 2 : 3));
    this.panes = items.map((item, i) => this.makePane(item, i));
    this.root.hidden = false;
    document.documentElement.classList.add("viewer-open");
    this.z = 1; this.u = 0.5; this.v = 0.5;
    this.evenCaptions();
    this.render();
    this.root.focus({ preventScroll: true });
    if (this.opts.onOpen) this.opts.onOpen(this);
  };

  // Captions of one height: the pictures' frames line up, so the same point of each sits
  // at the same height on screen.
  Viewer.prototype.evenCaptions = function () {
    const captions = $$(".viewer-caption", this.paneBox);
    captions.forEach((c) => { c.style.minHeight = ""; });
    const tallest = Math.max(0, ...captions.map((c) => c.offsetHeight));
    captions.forEach((c) => { c.style.minHeight = tallest + "px"; });
  };

  Viewer.prototype.close = function () {
    if (this.root.hidden) return;
    this.root.hidden = true;
    document.documentElement.classList.remove("viewer-open");
    this.paneBox.innerHTML = ""; // drop the decoded full-size pictures
    this.panes = [];
    if (this.opts.onClose) this.opts.onClose(this);
    if (this.returnFocus && this.returnFocus.focus) this.returnFocus.focus({ preventScroll: true });
  };

  Viewer.prototype.isOpen = function () { return !this.root.hidden; };

  Viewer.prototype.makePane = function (item, index) {
    const stage = el("div", { class: "viewer-stage" });
    const facts = el("dl", { class: "viewer-facts" });
    for (const [label, value] of item.facts || []) {
      facts.appendChild(el("div", {}, [el("dt", { text: label }), el("dd", { text: value, title: value })]));
    }
    const head = el("div", { class: "viewer-head" }, [
      item.index ? el("kbd", { text: String(item.index) }) : null,
      el("strong", { class: "viewer-name", text: item.name, title: item.path || item.name }),
      item.note ? el("span", { class: "viewer-note", text: item.note }) : null,
    ]);
    let state = null;
    if (item.state) {
      state = el("button", { type: "button", class: "viewer-state", "aria-pressed": "false" });
      state.addEventListener("click", () => this.opts.toggle(index));
      head.appendChild(state);
    }
    const caption = el("div", { class: "viewer-caption" }, [head, facts]);
    const wrap = el("figure", { class: "viewer-pane", "data-index": String(index) }, [stage, caption]);
    this.paneBox.appendChild(wrap);
    const pane = { item, wrap, stage, state, img: null, w: item.width || 0, h: item.height || 0, level: 0 };
    if (item.video) {
      const video = el("video", { src: item.video, controls: true, preload: "metadata", poster: item.display, class: "viewer-video" });
      stage.appendChild(video);
      pane.video = video;
    } else {
      const img = el("img", { class: "viewer-img", alt: item.name, draggable: "false", decoding: "async" });
      img.addEventListener("load", () => {
        if (!pane.w || !pane.h) { pane.w = img.naturalWidth; pane.h = img.naturalHeight; this.render(); }
      });
      img.src = item.thumb;
      stage.appendChild(img);
      pane.img = img;
      this.load(pane, 1);
      this.bindPointer(pane);
    }
    this.setState(index, item.state);
    return pane;
  };

  // level 1: the display rendition; level 2: the full-size picture.
  Viewer.prototype.load = function (pane, level) {
    if (pane.level >= level || pane.loading >= level) return;
    pane.loading = level;
    const url = level === 1 ? pane.item.display : pane.item.full;
    const probe = new Image();
    probe.decoding = "async";
    const swap = () => {
      if (!pane.img || pane.level >= level) return;
      pane.img.src = url;
      pane.level = level;
      pane.wrap.dataset.level = level === 2 ? "full" : "display";
      if (!pane.w || !pane.h) { pane.w = probe.naturalWidth; pane.h = probe.naturalHeight; }
      this.render();
      if (level === 1 && (this.opts.eager || this.needsFull(pane))) this.load(pane, 2);
    };
    // Decoded before it replaces what is shown, so the pane never flashes empty.
    probe.onload = () => { (probe.decode ? probe.decode() : Promise.resolve()).catch(() => null).then(swap); };
    probe.onerror = () => {
      pane.loading = pane.level;
      if (level === 1) this.failed(pane, url);
    };
    probe.src = url;
  };

  Viewer.prototype.failed = function (pane, url) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json()).catch(() => ({}))
      .then((data) => {
        pane.wrap.appendChild(el("p", { class: "viewer-error", role: "status", text: (data && data.error) || "This picture cannot be shown." }));
      });
  };

  Viewer.prototype.needsFull = function (pane) {
    if (!pane.img || pane.level >= 2) return false;
    const shown = this.scaleOf(pane) * pane.w * (window.devicePixelRatio || 1);
    return shown > (pane.img.naturalWidth || 1) * 1.1 && pane.w > (pane.img.naturalWidth || 0);
  };

  Viewer.prototype.fitOf = function (pane) {
    const r = pane.stage.getBoundingClientRect();
    pane.sw = r.width; pane.sh = r.height;
    if (!pane.w || !pane.h || !r.width || !r.height) return 1;
    return Math.min(r.width / pane.w, r.height / pane.h);
  };
  Viewer.prototype.scaleOf = function (pane) { return this.fitOf(pane) * this.z; };

  // The pane whose picture has the most pixels sets what "1:1" and the percentage mean.
  Viewer.prototype.largest = function () {
    let best = null;
    for (const p of this.panes) if (p.img && p.w && (!best || p.w * p.h > best.w * best.h)) best = p;
    return best;
  };
  Viewer.prototype.maxZoom = function () {
    const big = this.largest();
    return big ? Math.max(1, MAX_ZOOM / this.fitOf(big)) : MAX_ZOOM;
  };

  Viewer.prototype.render = function () {
    this.z = Math.min(Math.max(this.z, 1), this.maxZoom());
    let clampedOnce = false;
    for (const pane of this.panes) {
      if (!pane.img) continue;
      const s = this.scaleOf(pane);
      const w = pane.w * s, h = pane.h * s;
      if (!clampedOnce && pane.w) {
        // Keep the picture on screen: the centre cannot go past half a pane from an edge.
        this.u = w <= pane.sw ? 0.5 : Math.min(Math.max(this.u, pane.sw / 2 / w), 1 - pane.sw / 2 / w);
        this.v = h <= pane.sh ? 0.5 : Math.min(Math.max(this.v, pane.sh / 2 / h), 1 - pane.sh / 2 / h);
        clampedOnce = true;
      }
      let x = pane.sw / 2 - this.u * w, y = pane.sh / 2 - this.v * h;
      if (w <= pane.sw) x = (pane.sw - w) / 2;
      if (h <= pane.sh) y = (pane.sh - h) / 2;
      pane.img.style.width = (pane.w || 1) + "px";
      pane.img.style.height = (pane.h || 1) + "px";
      pane.img.style.transform = "translate(" + x.toFixed(2) + "px, " + y.toFixed(2) + "px) scale(" + s.toFixed(5) + ")";
      pane.x = x; pane.y = y; pane.s = s;
      pane.wrap.classList.toggle("zoomed", this.z > 1.001);
      // Past its own pixels a picture shows them as squares (how sharp is it really?);
      // below, it is smoothed as usual (squares there would be jagged).
      const natural = pane.img.naturalWidth || pane.w;
      pane.img.classList.toggle("magnified", s * pane.w / natural > 1.01);
      if (this.needsFull(pane)) this.load(pane, 2);
    }
    const big = this.largest();
    this.percent.textContent = this.z <= 1.001 ? "Fit" : big ? Math.round(this.scaleOf(big) * 100) + " %" : "";
    this.root.dataset.zoom = this.z.toFixed(4);
  };

  // Zoom to z, keeping the picture point under (px, py) of `pane` where it is.
  Viewer.prototype.zoomTo = function (z, pane, px, py) {
    pane = pane || this.panes.find((p) => p.img);
    if (!pane) return;
    if (px == null) { this.fitOf(pane); px = pane.sw / 2; py = pane.sh / 2; }
    const s0 = this.scaleOf(pane);
    const x0 = pane.x != null ? pane.x : pane.sw / 2 - this.u * pane.w * s0;
    const y0 = pane.y != null ? pane.y : pane.sh / 2 - this.v * pane.h * s0;
    const a = (px - x0) / (pane.w * s0), b = (py - y0) / (pane.h * s0);
    this.z = Math.min(Math.max(z, 1), this.maxZoom());
    const s1 = this.scaleOf(pane);
    this.u = a - (px - pane.sw / 2) / (pane.w * s1);
    this.v = b - (py - pane.sh / 2) / (pane.h * s1);
    this.render();
  };

  Viewer.prototype.zoomAction = function (action) {
    if (action === "in") this.zoomTo(this.z * 1.5);
    else if (action === "out") this.zoomTo(this.z / 1.5);
    else if (action === "fit") { this.z = 1; this.u = 0.5; this.v = 0.5; this.render(); }
    else if (action === "actual") {
      const big = this.largest();
      if (big) this.zoomTo(1 / this.fitOf(big));
    }
  };

  Viewer.prototype.atActual = function () {
    const big = this.largest();
    return !!big && this.z > 1.001 && Math.abs(this.scaleOf(big) - 1) < 0.005;
  };

  Viewer.prototype.pan = function (pane, dx, dy) {
    const s = this.scaleOf(pane);
    this.u -= dx / (pane.w * s);
    this.v -= dy / (pane.h * s);
    this.render();
  };

  Viewer.prototype.bindPointer = function (pane) {
    const stage = pane.stage;
    const points = new Map();
    let pinch = null;
    const local = (e) => { const r = stage.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
    stage.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [px, py] = local(e);
      const step = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY; // lines or pixels
      this.zoomTo(this.z * Math.exp(-step * (e.ctrlKey ? 0.01 : 0.002)), pane, px, py);
    }, { passive: false });
    stage.addEventListener("dblclick", (e) => {
      const [px, py] = local(e);
      const big = this.largest();
      if (this.atActual() || !big) this.zoomAction("fit");
      else this.zoomTo(1 / this.fitOf(big), pane, px, py);
    });
    let start = null;
    stage.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      stage.setPointerCapture(e.pointerId);
      points.set(e.pointerId, local(e));
      start = points.size === 1 ? local(e) : null;
      if (points.size === 2) {
        const [p, q] = Array.from(points.values());
        pinch = { d: Math.hypot(p[0] - q[0], p[1] - q[1]) || 1, z: this.z };
      }
      stage.classList.add("dragging");
    });
    stage.addEventListener("pointermove", (e) => {
      const last = points.get(e.pointerId);
      if (!last) return;
      const now = local(e);
      points.set(e.pointerId, now);
      if (points.size >= 2 && pinch) {
        const [p, q] = Array.from(points.values());
        const d = Math.hypot(p[0] - q[0], p[1] - q[1]);
        this.zoomTo(pinch.z * (d / pinch.d), pane, (p[0] + q[0]) / 2, (p[1] + q[1]) / 2);
      } else if (points.size === 1) {
        this.pan(pane, now[0] - last[0], now[1] - last[1]);
      }
    });
    const up = (e) => {
      // A swipe at "fit" goes to the previous or next photo (the lightbox on a phone).
      if (start && points.size === 1 && this.z <= 1.001 && this.opts.swipe && e.type === "pointerup") {
        const [x, y] = local(e);
        const dx = x - start[0], dy = y - start[1];
        if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) this.opts.swipe(dx < 0 ? 1 : -1);
      }
      points.delete(e.pointerId);
      if (points.size < 2) pinch = null;
      if (!points.size) stage.classList.remove("dragging");
    };
    stage.addEventListener("pointerup", up);
    stage.addEventListener("pointercancel", up);
  };

  Viewer.prototype.setState = function (index, state) {
    const pane = this.panes[index] || null;
    const wrap = pane ? pane.wrap : $('.viewer-pane[data-index="' + index + '"]', this.paneBox);
    if (!wrap || !state) return;
    wrap.classList.toggle("keep", state === "keep");
    wrap.classList.toggle("discard", state === "discard");
    const button = pane ? pane.state : $(".viewer-state", wrap);
    if (button) {
      button.textContent = state === "keep" ? "✓ Keep" : "✕ Leave out";
      button.setAttribute("aria-pressed", String(state === "keep"));
      button.title = "Keep or leave out" + (pane && pane.item.index ? " (Shift+" + pane.item.index + ")" : "");
    }
  };

  Viewer.prototype.key = function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    let done = true;
    switch (e.key) {
      case "Escape": this.close(); break;
      case " ": if (e.target.closest && e.target.closest("button, a")) { done = false; break; } this.close(); break;
      case "+": case "=": this.zoomAction("in"); break;
      case "-": case "_": this.zoomAction("out"); break;
      case "0": this.zoomAction("fit"); break;
      case "z": case "Z": this.zoomAction(this.atActual() ? "fit" : "actual"); break;
      default: done = this.opts.key ? this.opts.key(e) : false;
    }
    if (done) { e.preventDefault(); e.stopPropagation(); }
  };

  function text(node) { return node ? node.textContent.trim() : ""; }

  // ---- the duplicate group page: compare its pictures ------------------------------------
  function initCompare() {
    const form = $("#group-form");
    if (!form) return;
    const cards = $$(".member", form);
    if (!cards.length) return;
    const nav = $$("#prev-group, #next-group, #skip-group");
    const itemOf = (card, i) => {
      const facts = $$(".facts > div", card).map((d) => [text($("dt", d)), text($("dd", d))]);
      const copies = Number(card.dataset.copies || 1);
      return {
        id: card.dataset.fileId, index: i + 1, name: text($(".member-name", card)),
        path: ($(".member-name", card) || {}).title, facts,
        note: copies > 1 ? copies + " identical copies" : (card.classList.contains("suggested") ? "suggested" : ""),
        display: card.dataset.display, full: card.dataset.full, thumb: card.dataset.thumb,
        width: Number(card.dataset.width) || 0, height: Number(card.dataset.height) || 0,
        state: $(".member-check", card).checked ? "keep" : "discard",
      };
    };
    const withHash = (on) => {
      // While comparing, the next group opens in the compare view too.
      // (getAttribute: form.action is the button named "action", not the form's URL)
      form.setAttribute("action", form.getAttribute("action").split("#")[0] + (on ? "#compare" : ""));
      nav.forEach((a) => { a.href = a.href.split("#")[0] + (on ? "#compare" : ""); });
      history.replaceState(null, "", location.pathname + location.search + (on ? "#compare" : ""));
    };
    const viewer = new Viewer({
      label: "Compare at full size",
      eager: true,
      toggle: (i) => { const c = $(".member-check", cards[i]); c.click(); },
      onOpen: () => withHash(true),
      onClose: () => withHash(false),
      key: () => false, // the page's own keys (1-9, K, Enter, N, arrows) act on the form
    });
    const actions = [
      ["#save-choice", "btn-primary"], ["#keep-suggestion", ""], ["#not-duplicates", "btn-ghost"],
    ];
    const bar = () => {
      viewer.actions.innerHTML = "";
      for (const [sel, cls] of actions) {
        const source = $(sel);
        if (!source) continue;
        const b = el("button", { type: "button", class: "btn " + cls });
        b.innerHTML = source.innerHTML;
        b.addEventListener("click", () => source.click());
        viewer.actions.appendChild(b);
      }
      for (const sel of ["#prev-group", "#next-group"]) {
        const link = $(sel);
        if (!link) continue;
        const a = el("a", { class: "btn btn-ghost btn-icon", href: link.href, title: link.title, "aria-label": link.getAttribute("aria-label") });
        a.innerHTML = link.innerHTML;
        viewer.actions.appendChild(a);
      }
    };
    const open = () => {
      viewer.open(cards.map(itemOf), cards.length + " pictures side by side");
      bar();
    };
    // Keep the panes' Keep / Leave out in step with the cards (the page's keys change them).
    const watch = new MutationObserver(() => {
      if (!viewer.isOpen()) return;
      cards.forEach((card, i) => viewer.setState(i, $(".member-check", card).checked ? "keep" : "discard"));
    });
    cards.forEach((card) => watch.observe(card, { attributes: true, attributeFilter: ["class"] }));
    $$(".member-zoom", form).forEach((link) => link.addEventListener("click", (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return; // a new tab, as asked
      e.preventDefault();
      open();
    }));
    const button = $("#open-compare");
    if (button) { button.hidden = false; button.addEventListener("click", open); }
    document.addEventListener("keydown", (e) => {
      if (viewer.isOpen() || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === " " && !(e.target.closest && e.target.closest("button, a, label"))) {
        e.preventDefault();
        open();
      }
    });
    if (location.hash === "#compare") open();
  }

  // ---- the library and a file page: a lightbox ------------------------------------------
  function tileItem(tile) {
    const id = tile.dataset.id;
    const img = $("img", tile);
    const src = img ? new URL(img.getAttribute("src"), location.href) : null;
    const v = src ? src.searchParams.get("v") : null;
    const link = $("a", tile);
    return {
      id, name: link ? link.title : "", thumb: img ? img.getAttribute("src") : "",
      display: "/files/" + id + "/display" + (v ? "?v=" + v : ""), full: "/files/" + id + "/full",
      details: link ? link.href : "/files/" + id, video: null, facts: [],
    };
  }

  const PLAYABLE = new Set(["mp4", "webm", "mov", "m4v"]);

  function initLightbox() {
    let items = [];
    let at = 0;
    const viewer = new Viewer({
      label: "Photo",
      eager: false,
      swipe: (step) => show(at + step),
      key: (e) => {
        if (e.key === "ArrowLeft") { show(at - 1); return true; }
        if (e.key === "ArrowRight") { show(at + 1); return true; }
        return false;
      },
    });
    const prev = el("button", { type: "button", class: "btn btn-ghost", "aria-label": "Previous photo", title: "Previous (←)" }, [document.createTextNode("← Previous")]);
    const next = el("button", { type: "button", class: "btn btn-ghost", "aria-label": "Next photo", title: "Next (→)" }, [document.createTextNode("Next →")]);
    const details = el("a", { class: "btn btn-ghost" }, [document.createTextNode("Details")]);
    const counter = el("span", { class: "muted small viewer-counter" });
    prev.addEventListener("click", () => show(at - 1));
    next.addEventListener("click", () => show(at + 1));

    function describe(item, data) {
      const facts = [];
      if (data.width && data.height) facts.push(["pixels", data.width + "×" + data.height]);
      if (data.size != null) facts.push(["size", (data.size / 1e6).toFixed(data.size < 1e7 ? 1 : 0) + " MB"]);
      if (data.taken_at) facts.push(["taken", data.taken_at.replace("T", " ") + (data.utc_offset ? " " + data.utc_offset : "")]);
      if (data.camera) facts.push(["camera", data.camera]);
      facts.push(["path", data.path]);
      return Object.assign({}, item, {
        name: data.path.split("/").pop(), path: data.path, width: data.width || 0, height: data.height || 0, facts,
        video: data.kind === "video" && PLAYABLE.has((data.format || "").toLowerCase()) ? "/files/" + item.id + "/original" : null,
      });
    }

    async function show(i) {
      if (i < 0 || i >= items.length) return;
      at = i;
      let item = items[i];
      try {
        const r = await fetch("/files/" + item.id, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (r.ok) item = describe(item, await r.json());
      } catch (err) { /* the picture alone, then */ }
      if (at !== i) return; // moved on meanwhile
      viewer.open([item], item.name);
      prev.disabled = i === 0;
      next.disabled = i === items.length - 1;
      details.href = item.details;
      counter.textContent = items.length > 1 ? (i + 1) + " of " + items.length : "";
      viewer.actions.innerHTML = "";
      [prev, counter, details, next].forEach((n) => viewer.actions.appendChild(n));
    }

    // Library tiles: a plain click opens the lightbox (app.js keeps it for selecting).
    document.addEventListener("click", (e) => {
      const link = e.target.closest && e.target.closest(".tile a.tile-link");
      if (!link || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      const grid = link.closest("#grid") || document;
      if (grid.classList && grid.classList.contains("selecting")) return;
      e.preventDefault();
      const tiles = $$(".tile[data-id]", grid);
      items = tiles.map(tileItem);
      show(Math.max(0, tiles.indexOf(link.closest(".tile"))));
    });
    // A file page: its preview opens at full size.
    const here = /^\/files\/(\d+)$/.exec(location.pathname);
    const preview = here && $("img.preview-img");
    if (preview) {
      preview.classList.add("zoomable");
      preview.title = "Look closely (click)";
      preview.addEventListener("click", () => {
        const id = here[1];
        items = [{ id, name: preview.alt, thumb: preview.currentSrc || preview.src, display: "/files/" + id + "/display", full: "/files/" + id + "/full", details: location.pathname, facts: [] }];
        show(0);
      });
    }
  }

  window.mediafixViewer = { Viewer };
  const page = document.body.dataset.page || "";
  if (page === "duplicate-group") initCompare();
  else initLightbox();
})();
