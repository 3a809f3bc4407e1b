// Evidence uploads (CSP forbids inline script): a progress bar fed by htmx's htmx:xhr:progress events, and a
// refused upload (422) swapped in place so the message shows beside the form with what was typed.
(function () {
  function uploadForm(event) {
    const elt = (event.detail && event.detail.elt) || event.target;
    return elt && elt.closest ? elt.closest("form[data-upload]") : null;
  }

  document.addEventListener("htmx:beforeSend", (event) => {
    const form = uploadForm(event);
    if (!form) return;
    const bar = form.querySelector("progress.upload-progress");
    if (bar) { bar.value = 0; bar.hidden = false; }
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  });

  document.addEventListener("htmx:xhr:progress", (event) => {
    const form = uploadForm(event);
    if (!form || !event.detail.lengthComputable || !event.detail.total) return;
    const bar = form.querySelector("progress.upload-progress");
    const percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    if (bar) bar.value = Math.max(bar.value, percent);  // the response's download progress must not reset it
    const status = form.querySelector(".upload-status");
    if (status && percent % 10 === 0) status.textContent = (document.documentElement.lang === "en" ? "Uploaded " : "已上传 ") + percent + "%";
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const form = uploadForm(event);
    if (!form) return;
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
    const bar = form.querySelector("progress.upload-progress");
    if (bar) bar.hidden = true;
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (event.detail.xhr.status === 422 && target && target.matches && target.matches("[data-evidence]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
