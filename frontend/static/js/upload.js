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
    // Every button of the form waits for the upload (保存并提交 on the report form would send the files again).
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = true; });
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
    form.querySelectorAll("button[type=submit]").forEach((button) => { button.disabled = false; });
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

  // The report form's pickers upload as soon as files are chosen; the button for doing it without JavaScript goes.
  document.querySelectorAll(".upload-without-js").forEach((element) => { element.hidden = true; });

  // Too large is said before anything is sent (the server checks again): each file, and all of them at once.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const input = event.detail.elt;
    if (!input || !input.matches || !input.matches("input[type=file][data-max-bytes]")) return;
    const limit = Number(input.dataset.maxBytes);
    const files = Array.from(input.files || []);
    const status = input.closest("form") && input.closest("form").querySelector(".upload-status");
    const big = files.find((file) => file.size > limit);
    const total = files.reduce((sum, file) => sum + file.size, 0);
    let message = "";
    if (big && status) message = status.dataset.tooBig.replace("{name}", big.name);
    else if (total > limit && status) message = status.dataset.tooMuch;
    if (!message) return;
    event.preventDefault();
    input.value = "";
    status.textContent = message;
    status.classList.add("field-error");
  });

  // After an upload or a removal, the chosen files are sent: clear the pickers so they are not sent again.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = uploadForm(event);
    if (!form || !event.detail.successful) return;
    form.querySelectorAll("input[type=file]").forEach((input) => { input.value = ""; });
    const status = form.querySelector(".upload-status");
    if (status) { status.classList.remove("field-error"); status.textContent = ""; }
  });
})();
