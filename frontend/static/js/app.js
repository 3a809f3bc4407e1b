// Luoshi's own script (CSP forbids inline script): confirmations and error toasts for htmx requests.
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});

document.addEventListener("htmx:responseError", (event) => {
  const region = document.getElementById("toasts");
  if (!region) return;
  const holder = document.createElement("div");
  holder.innerHTML = event.detail.xhr.responseText;
  const toast = holder.querySelector(".alert") || holder;
  region.appendChild(toast);
  setTimeout(() => toast.remove(), 8000);
});

// A double click must not submit a form twice.
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented) return;
  const form = event.target;
  if (form.dataset.submitted) { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  setTimeout(() => delete form.dataset.submitted, 4000);
});

// The phone's 更多 sheet closes when one taps anywhere else.
document.addEventListener("click", (event) => {
  const open = document.querySelector("nav.has-more details[open]");
  if (open && !open.contains(event.target)) open.removeAttribute("open");
});
