// Kling O1 Studio browser helpers, installed once on page load (passed to launch(js=...)).
// 1. Token chips: a click inserts the chip's token at the cursor of the tab's prompt.
// 2. Compare player: play/pause/seek of one video follows the other; the wipe slider clips B.
// Listeners are delegated to the document, so they keep working when Gradio re-renders HTML.
(function () {
  if (window.__klingStudio) return;
  window.__klingStudio = true;
  // Gradio's container hides its overflow, which makes it the scroller of the result column's
  // sticky head (a scroller that never scrolls): clip cuts the same overflow without being one.
  document.querySelectorAll(".gradio-container").forEach(function (c) {
    c.style.setProperty("overflow", "clip", "important");
  });
  const lastCursor = new WeakMap(); // textarea -> [start, end] before focus moved to a chip
  // The few strings this script writes itself, in the browser's language like Gradio's own
  // labels (kling_ui/i18n.py holds the rest): Simplified Chinese for any zh-* browser.
  const ZH = /^zh/i.test(navigator.language || "");
  const ZH_TEXT = {
    "❚❚ Pause both": "❚❚ 同时暂停",
    "▶ Play both": "▶ 同时播放",
    "❚❚ Pause": "❚❚ 暂停",
    "▶ Play": "▶ 播放",
    "Uploaded files (click to add more)": "已上传的文件（点击添加更多）",
    "Notifying when a run ends (click to stop)": "生成结束时会通知你（点击停止）",
    "Notifications are blocked in this browser's site settings": "此浏览器的网站设置已屏蔽通知",
    "Notify me when a run ends": "生成结束时通知我",
    "This browser cannot notify": "此浏览器不支持通知",
    "✓ Your video is ready": "✓ 你的视频已生成",
    "✗ The run failed": "✗ 生成失败",
    "The run was canceled": "生成已取消",
  };
  function tr(text) { return ZH && ZH_TEXT[text] ? ZH_TEXT[text] : text; }

  function promptFor(el) {
    const tab = el.closest(".kling-tab") || document;
    return tab.querySelector(".kling-prompt textarea");
  }

  document.addEventListener("selectionchange", function () {
    const el = document.activeElement;
    if (el && el.tagName === "TEXTAREA" && el.closest(".kling-prompt")) {
      lastCursor.set(el, [el.selectionStart, el.selectionEnd]);
    }
  });

  function insertToken(textarea, token) {
    const value = textarea.value;
    const saved = lastCursor.get(textarea);
    let start = saved ? saved[0] : value.length;
    let end = saved ? saved[1] : value.length;
    // Never split an existing token: move to its end (same rule as prompt.insert_token).
    const re = /<<<\s*(image|video)_\d+\s*>>>/gi;
    let m;
    while ((m = re.exec(value)) !== null) {
      if (m.index < start && start < m.index + m[0].length) { start = end = m.index + m[0].length; }
    }
    const before = value.slice(0, start), after = value.slice(end);
    const left = before && !/\s$/.test(before) ? " " : "";
    const right = after && !/^[\s.,;:!?)]/.test(after) ? " " : "";
    textarea.value = before + left + token + right + after;
    const caret = before.length + left.length + token.length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    lastCursor.set(textarea, [caret, caret]);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("mousedown", function (e) {
    // Keep the prompt's selection when the chip takes focus.
    const chip = e.target.closest && e.target.closest(".kling-chip");
    if (chip) e.preventDefault();
  });

  document.addEventListener("click", function (e) {
    const chip = e.target.closest && e.target.closest(".kling-chip");
    if (chip) {
      const textarea = promptFor(chip);
      if (textarea) insertToken(textarea, chip.dataset.token);
      return;
    }
    const btn = e.target.closest && e.target.closest('.kling-compare [data-kc="toggle"]');
    if (btn) {
      const root = btn.closest(".kling-compare");
      const vids = videos(root);
      if (!vids.length) return;
      const playing = vids.some(function (v) { return !v.paused; });
      vids.forEach(function (v) { if (playing) v.pause(); else v.play().catch(function () {}); });
    }
  });

  // Gradio's upload area is a button whose aria-label ("Click to upload or drop files") leaves
  // out its visible text ("Drop Video Here - or - Click to Upload"), so a voice user saying what
  // they see misses it (WCAG 2.5.3; axe: label-content-name-mismatch). Its text names it well.
  let namePending = false;
  function fixUploadNames() {
    namePending = false;
    document.querySelectorAll("button.upload-container[aria-label]:not([role])").forEach(function (b) {
      const text = b.textContent.replace(/\s+/g, " ").trim();
      if (text && b.getAttribute("aria-label") !== "common.upload") b.removeAttribute("aria-label");
    });
    // With files in it, gr.File's drop zone is a <button> (named "common.upload", an untranslated
    // key) holding the files' own links and delete buttons: a control inside a control that
    // screen readers flatten (axe: nested-interactive). As a labelled group its children are
    // reachable; clicking it still opens the file picker.
    document.querySelectorAll('button[aria-label="common.upload"]').forEach(function (b) {
      b.setAttribute("role", "group");
      b.setAttribute("aria-label", tr("Uploaded files (click to add more)"));
    });
    // Gradio's empty-state icons carry an aria-label on a role-less div (aria-prohibited-attr).
    document.querySelectorAll("div.empty[aria-label]:not([role])").forEach(function (d) {
      d.setAttribute("role", "img");
    });
    // A preset's thumbnail is decoration beside its name: Gradio's alt ("Add a crown icon")
    // would make a screen reader say the name twice.
    document.querySelectorAll('.kling-preset-thumb img.button-icon:not([alt=""])').forEach(function (i) {
      i.setAttribute("alt", "");
    });
  }
  // The browser tab's title follows the visible run status ("Running 40%", "✓ Done").
  const baseTitle = document.title || "Kling O1 Studio";
  function followStatus() {
    const shown = Array.from(document.querySelectorAll(".kling-progress[data-title]"))
      .filter(function (el) { return el.getClientRects().length > 0; });  // shown (a fixed box too)
    const want = shown.length ? shown[0].dataset.title + " · " + baseTitle : baseTitle;
    if (document.title !== want) document.title = want;
  }
  // 4. A desktop notification when a run ends while the tab is hidden (issue #12), opt-in: the
  // "Notify me" button asks the browser once; the choice is kept in this browser.
  const NOTIFY_KEY = "kling-o1-studio-notify";
  const lastState = new Map(); // progress box id -> "run" | "done" | "failed" | "canceled"
  function notifyOn() {
    return "Notification" in window && Notification.permission === "granted" &&
      localStorage.getItem(NOTIFY_KEY) === "1";
  }
  function paintNotify() {
    const on = notifyOn();
    const blocked = "Notification" in window && Notification.permission === "denied";
    document.querySelectorAll(".kling-notify").forEach(function (b) {
      const want = on ? tr("Notifying when a run ends (click to stop)")
        : blocked ? tr("Notifications are blocked in this browser's site settings")
        : tr("Notify me when a run ends");
      if (b.textContent !== want) b.textContent = want;
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  document.addEventListener("click", function (e) {
    const b = e.target.closest && e.target.closest(".kling-notify");
    if (!b) return;
    if (!("Notification" in window)) { b.textContent = tr("This browser cannot notify"); return; }
    if (notifyOn()) { localStorage.removeItem(NOTIFY_KEY); paintNotify(); return; }
    Notification.requestPermission().then(function (answer) {
      if (answer === "granted") localStorage.setItem(NOTIFY_KEY, "1");
      paintNotify();
    });
  });
  function followRuns() {
    document.querySelectorAll("[id$='-progress'] .kling-progress").forEach(function (el) {
      const box = el.closest("[id$='-progress']");
      const state = ["kling-done", "kling-failed", "kling-canceled", "kling-run"]
        .find(function (c) { return el.classList.contains(c); }) || "";
      const before = lastState.get(box.id);
      lastState.set(box.id, state);
      if (before !== "kling-run" || state === "kling-run" || !document.hidden || !notifyOn()) return;
      const tab = document.querySelector('[role="tab"][aria-controls="' +
        (box.closest(".kling-tab") || {}).id + '"]');
      const what = tab ? tab.textContent.trim() : "Kling O1 Studio";
      const title = tr(state === "kling-done" ? "✓ Your video is ready" :
        state === "kling-failed" ? "✗ The run failed" : "The run was canceled");
      try {
        const n = new Notification(title, { body: what + " · Kling O1 Studio", tag: box.id });
        n.onclick = function () { window.focus(); n.close(); };
      } catch (err) { /* a browser without page notifications (Android Chrome) */ }
    });
  }
  // 5. A live run's seconds count up here, from the server's figure (data-elapsed): the
  // server sends a status only when it changes (kling_ui/ui/common.py, Changes).
  const since = new WeakMap(); // elapsed element -> [its data-elapsed, performance.now() at 0]
  setInterval(function () {
    document.querySelectorAll(".kling-elapsed[data-elapsed]").forEach(function (el) {
      let base = since.get(el);
      if (!base || base[0] !== el.dataset.elapsed) { // new, or re-synced by the server
        base = [el.dataset.elapsed, performance.now() - 1000 * parseFloat(el.dataset.elapsed)];
        since.set(el, base);
      }
      const want = "· " + Math.max(0, Math.round((performance.now() - base[1]) / 1000)) + " s";
      if (el.textContent !== want) el.textContent = want;
    });
  }, 1000);
  // The title is set straight from the observer: animation frames do not run in a hidden
  // browser tab, which is exactly when a title saying "✓ Done" is read.
  // 7. Gradio's own "Video not playable" toast (its player's error event, in English whatever
  // the page's language) repeats or contradicts the Studio's card, which says what the clip is,
  // what will be fixed and plays its own preview (issue #23): hidden. Other toasts stay.
  function hideUnplayable() {
    document.querySelectorAll(".toast-item").forEach(function (item) {
      if (item.style.display === "none") return;
      const texts = Array.from(item.querySelectorAll(".toast-message-text"))
        .map(function (e) { return e.textContent.trim(); });
      if (texts.length && texts.every(function (t) { return t === "Video not playable"; })) {
        item.style.display = "none";
      }
    });
  }
  // 8. A file just picked that cannot be used: its card says why, right under the drop area,
  // which on a phone is below the fold (an empty player above it, Run greyed in the bar): the
  // card is brought into view once, when its answer (not the card it replaces) arrives.
  let picked = null; // {input, card, before, at}
  function cardAfter(input) {
    const panel = input.closest('[role="tabpanel"]') || document;
    return Array.from(panel.querySelectorAll(".kling-card-html")).find(function (c) {
      return input.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING;
    }) || null;
  }
  function notePick(event) {
    const t = event.target;
    const input = t instanceof HTMLInputElement && t.type === "file" ? t
      : (t instanceof Element ? t.closest(".block") : null);
    const card = input ? cardAfter(input) : null;
    if (card) picked = { card: card, before: card.innerHTML, at: performance.now() };
  }
  document.addEventListener("change", notePick, true);
  document.addEventListener("drop", notePick, true);
  function showCardProblem() {
    if (!picked) return;
    const p = picked;
    if (performance.now() - p.at > 120000 || !p.card.isConnected) { picked = null; return; }
    if (p.card.innerHTML === p.before) return;
    if (!p.card.querySelector(".kling-card")) return;  // still empty: no answer yet
    picked = null;
    if (!p.card.querySelector(".kling-err") || !p.card.getClientRects().length) return;
    const r = p.card.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight - 80) {
      p.card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  }
  new MutationObserver(function () {
    hideUnplayable();
    showCardProblem();
    followStatus();
    followRuns();
    paintNotify();
    placeAllWipes();
    if (!namePending) {
      namePending = true;
      requestAnimationFrame(fixUploadNames);
    }
  }).observe(document.body, { childList: true, subtree: true, attributes: true,
                              attributeFilter: ["data-title", "style", "class"] });

  function videos(root) { return root ? Array.from(root.querySelectorAll("video.kc-media")) : []; }

  function label(root, t) {
    const el = root.querySelector(".kc-time");
    if (el) el.textContent = t.toFixed(1) + " s";
    const btn = root.querySelector('[data-kc="toggle"]');
    // "both" only where there are two: a text-to-video output plays alone.
    const vs = videos(root), both = vs.length > 1 ? " both" : "";
    if (btn) btn.textContent = tr(vs.some(function (v) { return !v.paused; }) ? "❚❚ Pause" + both : "▶ Play" + both);
  }

  function follow(type) {
    document.addEventListener(type, function (e) {
      const v = e.target;
      if (!(v instanceof HTMLVideoElement) || !v.classList.contains("kc-media")) return;
      const root = v.closest(".kling-compare");
      if (!root || root.dataset.syncing === "1") { if (root) label(root, v.currentTime); return; }
      root.dataset.syncing = "1";
      videos(root).forEach(function (o) {
        if (o === v) return;
        if (Math.abs(o.currentTime - v.currentTime) > 0.08) o.currentTime = Math.min(v.currentTime, o.duration || v.currentTime);
        if (type === "play" && o.paused) o.play().catch(function () {});
        if (type === "pause" && !o.paused) o.pause();
      });
      setTimeout(function () { root.dataset.syncing = "0"; }, 60);
      label(root, v.currentTime);
    }, true); // media events do not bubble: listen in the capture phase
  }
  ["play", "pause", "seeked"].forEach(follow);

  document.addEventListener("timeupdate", function (e) {
    const v = e.target;
    if (!(v instanceof HTMLVideoElement) || !v.classList.contains("kc-b")) return;
    const root = v.closest(".kling-compare");
    const seek = root && root.querySelector('[data-kc="seek"]');
    if (seek && v.duration) seek.value = String(Math.round((v.currentTime / v.duration) * 1000));
    if (root) label(root, v.currentTime);
  }, true);

  document.addEventListener("input", function (e) {
    const el = e.target;
    if (!el.closest) return;
    const root = el.closest(".kling-compare");
    if (!root) return;
    if (el.dataset.kc === "seek") {
      const vids = videos(root);
      const ref = root.querySelector("video.kc-b") || vids[0];
      if (!ref || !ref.duration) return;
      const t = (Number(el.value) / 1000) * ref.duration;
      vids.forEach(function (v) { v.currentTime = Math.min(t, v.duration || t); });
      label(root, t);
    } else if (el.dataset.kc === "wipe") {
      placeWipe(root);
    }
  }, true);

  // The wipe maps its 0-100 slider onto the output's picture as displayed: object-fit: contain
  // letterboxes a portrait clip in a landscape box, and a line in the black bar wipes nothing.
  function pictureRect(media) {
    const box = media.getBoundingClientRect();
    const w = media.videoWidth || media.naturalWidth, h = media.videoHeight || media.naturalHeight;
    if (!w || !h || !box.width || !box.height) return box;
    const scale = Math.min(box.width / w, box.height / h);
    const pw = w * scale, ph = h * scale;
    return { left: box.left + (box.width - pw) / 2, top: box.top + (box.height - ph) / 2, width: pw, height: ph };
  }
  function placeWipe(root) {
    const stage = root.querySelector(".kc-stage"), media = root.querySelector(".kc-media.kc-b");
    const slider = root.querySelector('[data-kc="wipe"]');
    if (!stage || !media || !slider || !wiping(root)) return;
    const s = stage.getBoundingClientRect(), pic = pictureRect(media);
    const x = pic.left - s.left + (pic.width * Number(slider.value)) / 100;
    const want = { "--kc-wipe": slider.value + "%", "--kc-wipe-x": x.toFixed(1) + "px",
                   "--kc-wipe-top": (pic.top - s.top).toFixed(1) + "px",
                   "--kc-wipe-h": pic.height.toFixed(1) + "px" };
    Object.keys(want).forEach(function (k) { // unchanged values are not written: no observer loop
      if (root.style.getPropertyValue(k) !== want[k]) root.style.setProperty(k, want[k]);
    });
  }
  // The checkbox is the truth (the CSS reads it with :has): Gradio may re-render the same HTML
  // after a run, resetting data-mode and style but keeping the box ticked.
  function wiping(root) {
    const box = root.querySelector('[data-kc="wipe-mode"]');
    return Boolean(box && box.checked);
  }
  function placeAllWipes() {
    document.querySelectorAll(".kling-compare").forEach(function (root) {
      if (wiping(root)) {
        if (root.dataset.mode !== "wipe") root.dataset.mode = "wipe";
        placeWipe(root);
      }
    });
  }
  window.addEventListener("resize", placeAllWipes);
  document.addEventListener("loadedmetadata", function (e) {
    const root = e.target.closest && e.target.closest(".kling-compare");
    if (root) placeWipe(root);
  }, true);

  // Drag on the picture to move the wipe (a phone has no room to aim at a small slider).
  document.addEventListener("pointerdown", function (e) {
    const stage = e.target.closest && e.target.closest(".kling-compare .kc-stage");
    if (!stage || !wiping(stage.closest(".kling-compare"))) return;
    const root = stage.closest(".kling-compare"), media = root.querySelector(".kc-media.kc-b");
    const slider = root.querySelector('[data-kc="wipe"]');
    if (!media || !slider) return;
    function move(ev) {
      const pic = pictureRect(media);
      const v = Math.max(0, Math.min(100, ((ev.clientX - pic.left) / pic.width) * 100));
      slider.value = String(Math.round(v));
      placeWipe(root);
    }
    move(e);
    e.preventDefault();
    function up() {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
    }
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
  }, true);

  document.addEventListener("change", function (e) {
    const el = e.target;
    if (el.dataset && el.dataset.kc === "wipe-mode") {
      const root = el.closest(".kling-compare");
      if (root) {
        root.dataset.mode = el.checked ? "wipe" : "side";
        requestAnimationFrame(function () { placeWipe(root); }); // after the stage re-lays out
      }
    }
  }, true);
  // 4. What the person touched (issue #23): every field they typed in, picked, pasted into or
  // dropped a file on since the page loaded. A tab's last run comes back only into
  // fields left alone, decided when its answer lands (`klingRestore`). Only trusted events
  // count: Gradio's own updates fire none.
  const touched = new Set(); // ids of the elements the person has touched
  function touch(event) {
    // A file chosen counts however its event was made (Gradio never fires one itself).
    const file = event.target instanceof HTMLInputElement && event.target.type === "file";
    if (!event.isTrusted && !file) return;
    for (let node = event.target; node && node !== document.body; node = node.parentElement) {
      if (node.id) touched.add(node.id);
    }
  }
  // A click or a tab into a field counts too: the person means to type there, and a restore
  // landing between the click and the first key put the last prompt in front of their words.
  ["input", "change", "drop", "paste", "keydown", "dragenter", "pointerdown", "focusin"].forEach(function (type) {
    document.addEventListener(type, touch, true);
  });
  window.klingUntouched = function () { return touched.size === 0; };
  // Uploads in flight count from the moment a file is chosen (the input's change) or dropped.
  // The last run's inputs land as a plan, {name: [value, default]} as JSON text, with each
  // file in a hidden twin (kling_ui/ui/tab_run.py): each goes into its field only if the field
  // is still untouched and at its default now, as the answer lands. Anything else is
  // `undefined`: Gradio leaves that output as it is.
  function blank(v) {
    const empty = v === null || v === undefined || v === "" ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
    return JSON.stringify(empty ? null : v);
  }
  window.klingRestore = function (fields, names, twinNames, planText, twins, now) {
    let plan = {};
    try { plan = JSON.parse(planText || "{}") || {}; } catch (_) { plan = {}; }
    return names.map(function (name, i) {
      const entry = plan[name];
      if (!Array.isArray(entry) || entry.length !== 2) return undefined;
      if (fields[name] && touched.has(fields[name])) return undefined;
      if (blank(now[i]) !== blank(entry[1])) return undefined;
      const twin = twinNames.indexOf(name);
      return twin >= 0 ? (twins[twin] === null ? undefined : twins[twin]) : entry[0];
    });
  };
  // 4b. Drafts (issue #23): a prompt typed and not run yet survives a reload or a closed tab,
  // in this browser only (localStorage, a day at most). It comes back into the empty prompt as
  // it appears, counted as the person's own (so the last run's prompt does not go over it); a
  // Run or a preset in that tab ends the draft.
  const DRAFT = "kling-draft:", DRAFT_MS = 24 * 3600 * 1000;
  function draftKey(id) { return DRAFT + id; }
  function readDraft(id) {
    try {
      const d = JSON.parse(localStorage.getItem(draftKey(id)) || "null");
      return d && typeof d.v === "string" && Date.now() - d.at < DRAFT_MS ? d.v : null;
    } catch (_) { return null; }
  }
  function dropDraft(id) { try { localStorage.removeItem(draftKey(id)); } catch (_) { /* private mode */ } }
  document.addEventListener("input", function (e) {
    if (!e.isTrusted || e.target.tagName !== "TEXTAREA") return;
    const host = e.target.closest('[id^="prompt-"]');
    if (!host) return;
    try {
      if (e.target.value) localStorage.setItem(draftKey(host.id), JSON.stringify({ v: e.target.value, at: Date.now() }));
      else dropDraft(host.id);
    } catch (_) { /* full or private: no draft */ }
  }, true);
  document.addEventListener("click", function (e) {
    const hit = e.target.closest && e.target.closest('[id$="-run"], .kling-preset');
    const panel = hit && hit.closest('[id^="tab-"]');
    const box = panel && panel.querySelector('[id^="prompt-"]');
    if (box) dropDraft(box.id);
  }, true);
  const drafted = new Set();
  function bringBackDrafts() {
    document.querySelectorAll('[id^="prompt-"] textarea').forEach(function (box) {
      const host = box.closest('[id^="prompt-"]');
      if (drafted.has(host.id)) return;
      drafted.add(host.id);
      const draft = readDraft(host.id);
      if (draft === null || box.value) return;
      box.value = draft;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      touched.add(host.id);
    });
  }
  const draftWatch = new MutationObserver(function () {
    bringBackDrafts();
    if (drafted.size >= 5) draftWatch.disconnect();  // every mode's prompt has appeared
  });
  draftWatch.observe(document.body, { childList: true, subtree: true });
  bringBackDrafts();
  // 4d. A file that is not a picture (text named .png) has no preview to draw: Gradio's own
  // <img> showed the browser's broken-image icon beside the card that says what is wrong.
  // Hidden while broken; a good file in the same place shows again.
  document.addEventListener("error", function (e) {
    const img = e.target;
    if (img.tagName === "IMG" && img.closest("#kling-tabs") && !img.closest(".kling-preset")) {
      img.style.visibility = "hidden";
    }
  }, true);
  document.addEventListener("load", function (e) {
    if (e.target.tagName === "IMG" && e.target.style.visibility === "hidden") e.target.style.visibility = "";
  }, true);
  // 4c. On a phone the tab row scrolls sideways: the tab just chosen (by a tap, or opened for
  // the person by Restore, Next shot or a reload mid-run) is scrolled into the row's view.
  document.addEventListener("click", function (e) {
    const tab = e.target.closest && e.target.closest('#kling-tabs [role="tab"]');
    if (!tab) return;
    requestAnimationFrame(function () {
      const row = tab.parentElement, r = tab.getBoundingClientRect(), box = row.getBoundingClientRect();
      if (r.left < box.left || r.right > box.right - 56) {  // 56: the row's faded end
        row.scrollBy({ left: r.left - box.left - (box.width - r.width) / 2, behavior: "smooth" });
      }
    });
  }, true);
  // 5. The result is the hero (issue #23): when a run this page watched ends, its output is
  // scrolled into view if any of it is off screen (a reload showing an old result does not).
  const running = {}; // tab key -> its run was seen in flight
  setInterval(function () {
    document.querySelectorAll('[id$="-progress"]').forEach(function (box) {
      const key = box.id.slice(0, -"-progress".length);
      const flying = !!box.querySelector(".kling-progress.kling-run");
      const done = !!box.querySelector(".kling-progress.kling-done");
      if (flying) { running[key] = true; return; }
      if (!done || !running[key]) return;
      running[key] = false;
      const out = document.querySelector("#" + CSS.escape(key) + "-compare .kc-stage") ||
                  document.querySelector("#" + CSS.escape(key) + "-compare");
      if (!out || !out.getClientRects().length) return;
      const r = out.getBoundingClientRect();
      if (r.top < 0 || r.bottom > window.innerHeight) {
        out.scrollIntoView({ behavior: "smooth", block: r.height < window.innerHeight ? "center" : "start" });
      }
    });
  }, 400);
  // 6. A file whose type the system did not name (an iPhone's "IMG_0042.MOV" picked on a
  // machine that maps only lower-case extensions) was dropped in silence by the upload's
  // accept="video/*" check: it gets its type from its extension before the upload sees it.
  const TYPES = { mov: "video/quicktime", mp4: "video/mp4", m4v: "video/mp4", webm: "video/webm",
                  mkv: "video/x-matroska", avi: "video/x-msvideo", "3gp": "video/3gpp",
                  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp",
                  heic: "image/heic", gif: "image/gif" };
  document.addEventListener("change", function (event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.files) return;
    const files = Array.from(input.files);
    if (!files.some(function (f) { return !f.type; })) return;
    const fixed = new DataTransfer();
    files.forEach(function (f) {
      const ext = (f.name.split(".").pop() || "").toLowerCase();
      fixed.items.add(!f.type && TYPES[ext] ? new File([f], f.name, { type: TYPES[ext],
        lastModified: f.lastModified }) : f);
    });
    input.files = fixed.files;
  }, true);
  // 3. Leaving the page while a run is in flight: the run goes on (and is kept in the
  // Library), but a person who closes the tab by mistake deserves the browser's question.
  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector(".kling-progress.kling-run")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
