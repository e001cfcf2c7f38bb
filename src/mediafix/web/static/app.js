/* mediafix pages: uploads, live job progress, keyboard review, selections. No dependencies
   besides the vendored htmx; every page also works with plain forms when this fails. */
(function () {
  "use strict";

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";
  const page = document.body.dataset.page || "";

  // ---- small helpers ------------------------------------------------------------------
  function toast(message, kind) {
    const box = $("#toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast" + (kind === "error" ? " error" : "");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(() => el.remove(), kind === "error" ? 7000 : 3500);
  }

  function errorText(xhrOrText, fallback) {
    const text = typeof xhrOrText === "string" ? xhrOrText : (xhrOrText && xhrOrText.responseText) || "";
    try {
      const data = JSON.parse(text);
      if (data && data.error) return data.error;
    } catch (e) { /* not JSON */ }
    return fallback || "Something went wrong.";
  }

  async function getJSON(url) {
    const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!res.ok) throw new Error(errorText(await res.text(), res.statusText));
    return res.json();
  }

  const fmt = new Intl.NumberFormat();
  function bytes(n) {
    if (n == null) return "–";
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
  }
  function duration(s) {
    if (s == null || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min " + String(s % 60).padStart(2, "0") + " s";
    return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
  }

  function setBar(progress, current, total, status) {
    if (!progress) return;
    const bar = $(".progress-bar", progress);
    const pct = total ? Math.min(100, Math.floor((current * 100) / total)) : (status === "completed" ? 100 : 0);
    bar.style.width = pct + "%";
    progress.className = progress.className.replace(/progress-(pending|running|completed|failed|cancelled)/g, "").trim();
    progress.classList.add("progress-" + status);
    progress.classList.toggle("indeterminate", !total && (status === "running" || status === "pending"));
    progress.setAttribute("aria-valuenow", String(current));
    progress.setAttribute("aria-valuemax", String(total));
    return pct;
  }

  // ---- confirmations ------------------------------------------------------------------
  function confirmDialog(title, body, okLabel) {
    const dialog = $("#confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return Promise.resolve(window.confirm(title + "\n\n" + body));
    }
    $(".dialog-title", dialog).textContent = title;
    $(".dialog-body", dialog).textContent = body;
    $(".dialog-ok", dialog).textContent = okLabel || "Continue";
    dialog.returnValue = "";
    dialog.showModal();
    $(".dialog-ok", dialog).focus();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.dataset.confirmed) return;
    event.preventDefault();
    const submitter = event.submitter;
    confirmDialog(form.dataset.confirmTitle || "Are you sure?", form.dataset.confirm).then((ok) => {
      if (!ok) return;
      form.dataset.confirmed = "1";
      if (submitter && submitter.name) {
        const hidden = document.createElement("input");
        hidden.type = "hidden"; hidden.name = submitter.name; hidden.value = submitter.value;
        form.appendChild(hidden);
      }
      form.submit();
    });
  });

  // ---- htmx: CSRF header, errors, retrying thumbnails ------------------------------------
  document.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = csrf(); });
  document.addEventListener("htmx:responseError", (e) => toast(errorText(e.detail.xhr), "error"));
  document.addEventListener("htmx:sendError", () => toast("The server did not answer. Is mediafix still running?", "error"));

  function watchThumb(img) {
    if (img.dataset.watched) return;
    img.dataset.watched = "1";
    let tries = 0;
    const check = () => {
      // A pending placeholder is 318x238; the real thumbnail replaces it when a worker made it.
      if (img.naturalWidth === 318 && img.naturalHeight === 238 && tries < 8) {
        tries += 1;
        setTimeout(() => {
          const url = new URL(img.src, location.href);
          url.searchParams.set("r", String(tries));
          img.src = url.toString();
        }, 1500 * tries);
      }
    };
    img.addEventListener("load", check);
    if (img.complete) check();
  }
  const watchAll = (root) => $$("img[data-thumb]", root).forEach(watchThumb);
  watchAll(document);
  document.addEventListener("htmx:afterSwap", (e) => watchAll(e.target));

  // ---- the menu on a phone: labelled entries behind one button ---------------------------------
  (function initMenu() {
    const button = $("#nav-toggle");
    const bar = $(".topbar-inner");
    if (!button || !bar) return;
    bar.classList.add("js-nav"); // without this script the entries stay on the bar, wrapped
    const set = (open) => {
      bar.classList.toggle("nav-open", open);
      button.setAttribute("aria-expanded", String(open));
    };
    button.addEventListener("click", () => set(!bar.classList.contains("nav-open")));
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") set(false); });
    document.addEventListener("click", (e) => { if (!e.target.closest(".topbar")) set(false); });
  })();

  // Filters in a drawer on a small screen: closed until asked for, so photos come first.
  $$("details[data-drawer]").forEach((d) => {
    if (window.matchMedia("(max-width: 900px)").matches) d.open = false;
  });

  // ---- generic behaviours ---------------------------------------------------------------
  $$("select[data-autosubmit]").forEach((s) => s.addEventListener("change", () => s.form.submit()));
  $$("tr[data-href]").forEach((tr) => tr.addEventListener("click", (e) => {
    if (!e.target.closest("a, button, input")) location.href = tr.dataset.href;
  }));
  document.addEventListener("click", (e) => {
    const back = e.target.closest("[data-back]");
    if (back && history.length > 1) { e.preventDefault(); history.back(); }
  });
  // The home zone nobody set yet: offer the browser's (the person's click confirms it).
  $$("[data-browser-zone]").forEach((button) => {
    let zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (!zone || zone === "UTC" || zone === "Etc/UTC") return;
    button.value = zone;
    button.querySelectorAll("[data-browser-zone-name]").forEach((el) => { el.textContent = zone; });
    button.hidden = false;
  });
  $$("input[type=range][data-output]").forEach((input) => {
    const out = document.getElementById(input.dataset.output);
    const show = () => {
      out.textContent = "percent" in input.dataset ? Math.round(input.value * 100) + " %" : input.value;
    };
    input.addEventListener("input", show);
  });

  // The navigation's counts follow what happens: after an action on the page (a date
  // confirmed, a group decided) and while background jobs (a regroup) change them.
  function showBadges(counts) {
    const set = (name, n) => {
      $$('[data-badge="' + name + '"]').forEach((el) => {
        el.textContent = fmt.format(n);
        el.hidden = !(n > 0);
      });
    };
    set("duplicates", counts.duplicates || 0);
    set("dates", counts.dates || 0);
    set("total", (counts.duplicates || 0) + (counts.dates || 0));
  }
  let badgeTimer = null;
  function refreshBadges(delay) {
    const url = document.body.dataset.badgesUrl;
    if (!url || !$("[data-badge]")) return;
    clearTimeout(badgeTimer);
    badgeTimer = setTimeout(async () => {
      try { showBadges(await getJSON(url)); } catch (e) { /* the next refresh tries again */ }
    }, delay || 0);
  }
  document.addEventListener("htmx:afterRequest", () => refreshBadges(150));
  setInterval(() => { if (!document.hidden) refreshBadges(); }, 15000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refreshBadges(); });

  // ---- import: drag and drop, folders, batched uploads with progress ----------------------
  function initImport() {
    const zone = $("#dropzone");
    if (!zone) return;
    const uploadUrl = zone.dataset.uploadUrl;
    const maxFile = Number(zone.dataset.maxFile || 0);
    const panel = $("#upload-panel");
    const BATCH_FILES = 100;
    const BATCH_BYTES = 256 * 1000 * 1000;
    let running = null;

    function readEntries(reader) {
      return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    }
    async function walk(entry, out) {
      if (entry.isFile) {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        out.push({ file, path: entry.fullPath.replace(/^\/+/, "") || file.name });
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const batch = await readEntries(reader); // at most 100 at a time: ask until empty
          if (!batch.length) break;
          for (const child of batch) await walk(child, out);
        }
      }
    }
    async function fromDrop(dt) {
      const out = [];
      const entries = Array.from(dt.items || [])
        .filter((i) => i.kind === "file")
        .map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
      if (entries.length && entries.every(Boolean)) {
        for (const entry of entries) await walk(entry, out);
      } else {
        for (const file of Array.from(dt.files || [])) out.push({ file, path: file.name });
      }
      return out;
    }

    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => {
      e.preventDefault(); zone.classList.add("over");
    }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
    zone.addEventListener("drop", async (e) => {
      e.preventDefault();
      if (running) return;
      const items = await fromDrop(e.dataTransfer);
      start(items);
    });
    document.addEventListener("dragover", (e) => e.preventDefault());
    document.addEventListener("drop", (e) => e.preventDefault());
    ["#pick-files", "#pick-folder"].forEach((sel) => {
      const input = $(sel);
      if (!input) return;
      input.addEventListener("change", () => {
        const items = Array.from(input.files).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
        input.value = "";
        start(items);
      });
    });

    function batches(items) {
      const out = [];
      let current = [];
      let size = 0;
      for (const item of items) {
        if (current.length && (current.length >= BATCH_FILES || size + item.file.size > BATCH_BYTES)) {
          out.push(current); current = []; size = 0;
        }
        current.push(item); size += item.file.size;
      }
      if (current.length) out.push(current);
      return out;
    }

    function start(items) {
      items = items.filter((i) => !/(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini)$/i.test(i.path));
      if (!items.length) { toast("No files found in what was dropped.", "error"); return; }
      const tooBig = items.find((i) => maxFile && i.file.size > maxFile);
      if (tooBig) { toast(tooBig.path + " is larger than the " + bytes(maxFile) + " limit per file.", "error"); return; }
      running = {
        items, batches: batches(items), index: 0, uploadId: null, xhr: null, cancelled: false,
        total: items.reduce((n, i) => n + i.file.size, 0), sentBefore: 0, started: performance.now(),
        filesDone: 0, rate: 0,
      };
      panel.hidden = false;
      zone.hidden = true;
      $("#upload-error").hidden = true;
      $("#upload-title").textContent = "Uploading " + fmt.format(items.length) + " file" + (items.length === 1 ? "" : "s");
      next();
    }

    function show(loadedInBatch) {
      const r = running;
      const sent = r.sentBefore + loadedInBatch;
      const seconds = (performance.now() - r.started) / 1000;
      const rate = seconds > 0.5 ? sent / seconds : 0;
      r.rate = r.rate ? r.rate * 0.7 + rate * 0.3 : rate;
      const pct = r.total ? Math.min(100, (sent * 100) / r.total) : 100;
      const bar = $("#upload-progress .progress-bar");
      bar.style.width = pct.toFixed(1) + "%";
      $("#upload-progress").setAttribute("aria-valuenow", String(Math.round(pct)));
      $("#upload-sent").textContent = bytes(sent) + " of " + bytes(r.total);
      $("#upload-rate").textContent = r.rate ? bytes(r.rate) + "/s" : "–";
      $("#upload-eta").textContent = r.rate ? duration((r.total - sent) / r.rate) : "–";
      $("#upload-files").textContent = fmt.format(r.filesDone) + " of " + fmt.format(r.items.length);
    }

    function fail(message) {
      const box = $("#upload-error");
      box.hidden = false;
      box.textContent = message + " ";
      const retry = document.createElement("button");
      retry.type = "button"; retry.className = "btn btn-sm"; retry.textContent = "Try again";
      retry.addEventListener("click", () => { box.hidden = true; next(); });
      box.appendChild(retry);
      $("#upload-progress").classList.replace("progress-running", "progress-failed");
    }

    function next() {
      const r = running;
      if (!r || r.cancelled) return;
      $("#upload-progress").classList.replace("progress-failed", "progress-running");
      const batch = r.batches[r.index];
      const last = r.index === r.batches.length - 1;
      const form = new FormData();
      for (const item of batch) {
        form.append("mtime", String(item.file.lastModified || ""));
        form.append("files", item.file, item.path);
      }
      const url = new URL(uploadUrl, location.href);
      if (r.uploadId) url.searchParams.set("upload_id", r.uploadId);
      url.searchParams.set("done", last ? "1" : "0");
      const xhr = new XMLHttpRequest();
      r.xhr = xhr;
      xhr.open("POST", url.toString());
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      $("#upload-current").textContent = batch[0].path + (batch.length > 1 ? " and " + (batch.length - 1) + " more" : "");
      xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) show(Math.min(e.loaded, batchBytes(batch))); });
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          const data = JSON.parse(xhr.responseText);
          r.uploadId = data.upload_id || r.uploadId;
          r.sentBefore += batchBytes(batch);
          r.filesDone += batch.length;
          r.index += 1;
          show(0);
          if (data.job_id) {
            $("#upload-title").textContent = "Uploaded — scanning starts";
            $("#upload-progress").classList.replace("progress-running", "progress-completed");
            location.href = data.job_url || "/jobs/" + data.job_id;
            return;
          }
          next();
        } else {
          fail(errorText(xhr, "The upload failed (" + xhr.status + ")."));
        }
      });
      xhr.addEventListener("error", () => fail("The connection broke."));
      xhr.send(form);
    }
    function batchBytes(batch) { return batch.reduce((n, i) => n + i.file.size, 0); }

    $("#upload-cancel").addEventListener("click", () => {
      if (!running) return;
      running.cancelled = true;
      if (running.xhr) running.xhr.abort();
      running = null;
      panel.hidden = true;
      zone.hidden = false;
      toast("Upload cancelled. Nothing was imported.");
    });

    // Server folders: a small browser over the allowed roots.
    const browser = $("#folder-browser");
    if (browser) {
      const list = $("#browse-list");
      const up = $("#browse-up");
      const pathLabel = $("#browse-path");
      const input = $("#server-path");
      const open = async (path) => {
        const url = new URL(browser.dataset.browseUrl, location.href);
        if (path) url.searchParams.set("path", path);
        try {
          const data = await getJSON(url.toString());
          list.innerHTML = "";
          pathLabel.textContent = data.path || "Allowed folders";
          if (data.path) input.value = data.path;
          up.disabled = !data.path;
          up.onclick = () => open(data.parent || "");
          if (!data.folders.length) {
            const li = document.createElement("li");
            li.className = "muted small";
            li.textContent = data.path ? "No sub-folders (" + fmt.format(data.files) + " files here)." : "No folder is allowed.";
            list.appendChild(li);
          }
          for (const f of data.folders) {
            const li = document.createElement("li");
            const b = document.createElement("button");
            b.type = "button";
            b.innerHTML = '<svg class="icon" aria-hidden="true"><use href="' + iconHref("folder") + '"></use></svg>';
            b.appendChild(document.createTextNode(" " + f.name));
            b.addEventListener("click", () => open(f.path));
            li.appendChild(b);
            list.appendChild(li);
          }
        } catch (err) {
          toast(err.message, "error");
        }
      };
      open("");
    }
  }

  function iconHref(name) {
    const any = $("use");
    const base = any ? any.getAttribute("href").split("#")[0] : "/static/icons.svg";
    return base + "#" + name;
  }

  // ---- one job: live progress -------------------------------------------------------------
  function initJob() {
    const card = $("#job");
    if (!card) return;
    const activeAtLoad = ["pending", "running"].includes(card.dataset.status);
    if (!activeAtLoad) return;
    const field = (name) => $('[data-field="' + name + '"]');
    // The time left from the pace seen here (files per second between two looks, smoothed),
    // not from the average since the start, which counts the worker's start-up.
    let seen = null;
    let pace = 0;
    const stamp = (iso) => (iso ? iso.replace("T", " ").slice(0, 16) : "–");
    const tick = async () => {
      let job;
      try {
        job = await getJSON(card.dataset.jobUrl);
      } catch (e) {
        setTimeout(tick, 4000);
        return;
      }
      const now = performance.now();
      if (seen && job.progress_current > seen.current && now > seen.at) {
        const recent = (job.progress_current - seen.current) / ((now - seen.at) / 1000);
        pace = pace ? pace * 0.6 + recent * 0.4 : recent;
      }
      if (!seen || job.progress_current !== seen.current) seen = { current: job.progress_current, at: now };
      field("count").hidden = false;
      field("current").textContent = fmt.format(job.progress_current);
      field("total").textContent = job.progress_total ? fmt.format(job.progress_total) : "…";
      const pct = setBar($(".progress", field("progress")), job.progress_current, job.progress_total, job.status);
      field("percent").textContent = job.progress_total ? (pct || 0) + " %" : "";
      field("rate").textContent = job.rate ? fmt.format(job.rate) + " files/s" : "–";
      const eta = field("eta");
      if (eta) {
        const left = job.progress_total - job.progress_current;
        eta.textContent = job.status !== "running" ? "–"
          : pace && left >= 0 ? duration(left / pace)
          : job.progress_total ? "estimating…" : "–";
      }
      field("started").textContent = stamp(job.started_at);
      field("finished").textContent = stamp(job.finished_at);
      field("message").textContent = job.message || "";
      const pill = $(".pill", field("status-pill"));
      if (pill) { pill.className = "pill pill-" + job.status; pill.textContent = job.status; }
      const resumed = field("resumed");
      if (resumed && job.resumed) {
        resumed.hidden = false;
        resumed.textContent = "resumed" + (job.resumed > 1 ? " ×" + job.resumed : "");
      }
      if (job.error) { const e = field("error"); e.hidden = false; $("span", e).textContent = job.error; }
      if (["pending", "running"].includes(job.status)) {
        setTimeout(tick, 1500);
      } else {
        setTimeout(() => location.reload(), 900);
      }
    };
    setTimeout(tick, 1000);
  }

  // ---- one duplicate group: toggles and the keyboard ----------------------------------------
  function initGroup() {
    const form = $("#group-form");
    if (!form) return;
    const members = $$(".member", form);
    const sync = (m) => {
      const on = $(".member-check", m).checked;
      m.classList.toggle("keep", on);
      m.classList.toggle("discard", !on);
    };
    members.forEach((m) => $(".member-check", m).addEventListener("change", () => sync(m)));
    const setOnly = (i) => members.forEach((m, n) => { $(".member-check", m).checked = n === i; sync(m); });
    const toggle = (i) => { const c = $(".member-check", members[i]); c.checked = !c.checked; sync(members[i]); };
    form.addEventListener("submit", (e) => {
      const s = e.submitter;
      if ((!s || s.value === "keep") && !members.some((m) => $(".member-check", m).checked)) {
        e.preventDefault();
        toast("Keep at least one copy: leaving them all out would lose the picture.", "error");
      }
    });
    const click = (sel) => { const el = $(sel); if (el) el.click(); };
    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.target.closest("input[type=text], textarea, select")) return;
      const digit = /^(Digit|Numpad)([1-9])$/.exec(e.code);
      if (digit) {
        const i = Number(digit[2]) - 1;
        if (i < members.length) { e.preventDefault(); if (e.shiftKey) toggle(i); else setOnly(i); }
        return;
      }
      switch (e.key) {
        case "Enter":
          if (e.target.closest("button, a")) return;
          e.preventDefault(); click("#save-choice"); break;
        case "k": case "K": e.preventDefault(); click("#keep-suggestion"); break;
        case "n": case "N": e.preventDefault(); click("#not-duplicates"); break;
        case "ArrowLeft": e.preventDefault(); click("#prev-group"); break;
        case "ArrowRight": e.preventDefault(); click("#next-group"); break;
        default: break;
      }
    });
  }

  // ---- date review: selection and swapped rows -----------------------------------------------
  function initDates() {
    const bar = $("#date-selection");
    if (!bar) return;
    const boxes = () => $$("input[data-select-date]");
    const update = () => {
      const chosen = boxes().filter((b) => b.checked);
      $("[data-count]", bar).textContent = fmt.format(chosen.length);
      bar.hidden = chosen.length === 0;
      const holder = $("#date-selection-ids");
      holder.innerHTML = "";
      for (const b of chosen) {
        const i = document.createElement("input");
        i.type = "hidden"; i.name = "file_ids"; i.value = b.value;
        holder.appendChild(i);
      }
    };
    document.addEventListener("change", (e) => { if (e.target.matches("input[data-select-date]")) update(); });
    const all = $("#select-all-dates");
    if (all) all.addEventListener("change", () => { boxes().forEach((b) => { b.checked = all.checked; }); update(); });
    $("[data-select-none]", bar).addEventListener("click", () => {
      boxes().forEach((b) => { b.checked = false; }); if (all) all.checked = false; update();
    });
    bar.addEventListener("submit", (e) => {
      const s = e.submitter;
      const date = $('input[name="taken_at"]', bar);
      const offset = $('input[name="utc_offset"]', bar);
      const shift = $('input[name="shift"]', bar);
      if (s && s.value === "shift" && !shift.value.trim()) {
        e.preventDefault(); toast("Type by how much to shift, e.g. +1h or -30m.", "error"); return;
      }
      if (s && s.value === "date" && !date.value) {
        e.preventDefault(); toast("Pick the date and time to give the selected files.", "error"); return;
      }
      // One action per click: the other's fields do not go along.
      const dating = s && s.value === "date";
      date.disabled = !dating; offset.disabled = !dating; shift.disabled = dating || !(s && s.value === "shift");
    });
    document.addEventListener("htmx:afterSwap", (e) => {
      if (e.target.classList && e.target.classList.contains("confirmed")) {
        refreshBadges(150);
        toast("Date saved.");
      }
      update();
    });
  }

  // ---- library: select many, tag them ----------------------------------------------------------
  function initLibrary() {
    const grid = $("#grid");
    const bar = $("#lib-selection");
    if (!grid || !bar) return;
    const tiles = () => $$(".tile", grid);
    const selected = new Set();
    let allMatching = false;
    let last = -1;
    const update = () => {
      tiles().forEach((t) => {
        const on = allMatching || selected.has(t.dataset.id);
        t.classList.toggle("selected", on);
        $(".tile-check", t).setAttribute("aria-pressed", String(on));
      });
      const n = allMatching ? Number(bar.dataset.total) : selected.size;
      $("[data-count]", bar).textContent = fmt.format(n);
      bar.hidden = n === 0;
      grid.classList.toggle("selecting", n > 0);
    };
    const toggle = (tile, shift) => {
      const all = tiles();
      const index = all.indexOf(tile);
      allMatching = false;
      if (shift && last >= 0) {
        const [a, b] = [Math.min(last, index), Math.max(last, index)];
        all.slice(a, b + 1).forEach((t) => selected.add(t.dataset.id));
      } else if (selected.has(tile.dataset.id)) {
        selected.delete(tile.dataset.id);
      } else {
        selected.add(tile.dataset.id);
      }
      last = index;
      update();
    };
    grid.addEventListener("click", (e) => {
      const tile = e.target.closest(".tile");
      if (!tile) return;
      const check = e.target.closest(".tile-check");
      if (check || selected.size || allMatching || e.shiftKey) {
        e.preventDefault();
        toggle(tile, e.shiftKey);
      }
    });
    const matching = $("[data-select-matching]", bar);
    if (matching) matching.addEventListener("click", () => { allMatching = true; update(); });
    $("[data-select-none]", bar).addEventListener("click", () => { selected.clear(); allMatching = false; update(); });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { selected.clear(); allMatching = false; update(); }
    });
    bar.addEventListener("submit", () => {
      const holder = $("#lib-selection-ids");
      holder.innerHTML = "";
      const add = (name, value) => {
        const i = document.createElement("input");
        i.type = "hidden"; i.name = name; i.value = value; holder.appendChild(i);
      };
      if (allMatching) { add("all_matching", "1"); add("filter", bar.dataset.filter || ""); }
      else selected.forEach((id) => add("file_ids", id));
    });
  }

  const inits = { import: initImport, job: initJob, "duplicate-group": initGroup, timestamps: initDates, library: initLibrary };
  if (inits[page]) inits[page]();
})();
