// Library key, once per browser (issue #20): pages before the HttpOnly library cookie kept the
// key in localStorage, encrypted with a secret Gradio sent every visitor. Hand that blob to the
// server once (it moves the old key's runs to this browser's cookie), then forget it; reload
// when runs moved, so the page lists them. kling_ui/identity.py answers; page.py names the key.
(function () {
  const STORAGE_KEY = "kling-o1-studio-library";
  let blob = null;
  try { blob = window.localStorage.getItem(STORAGE_KEY); } catch (e) { return; }
  if (!blob) return;
  fetch("kling/adopt-library", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({blob: blob}),
  }).then(function (r) { return r.ok ? r.json() : null; }).then(function (answer) {
    if (!answer) return;  // try again on the next visit
    window.localStorage.removeItem(STORAGE_KEY);
    if (answer.moved > 0) window.location.reload();
  }).catch(function () {});
})();
