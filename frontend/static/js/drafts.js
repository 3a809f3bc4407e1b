// Nothing typed is lost: what a person types into a form is kept in this tab's sessionStorage, keyed by their
// account and the form, and put back when the form comes again — after the sign-in lapsed (login, then back to
// the form), after a form older than the sign-in was refused, after a crash or an accidental link. It never leaves
// the browser, dies with the tab, and is dropped once the form went through, or when the person signs out in this
// tab.
//
// Every POST form with a text field takes part (a form opts out with data-keep-draft="off"; htmx forms and upload.js
// forms with no textarea, which do not leave the page, and sign-in forms stay out; the report form, which uploads
// its photos in place and is then sent as a whole, takes part); passwords, hidden fields and files are never
// kept. Messages come translated from the <script> tag's data attributes.
(() => {
  const PREFIX = "luoshi:draft:";
  const script = document.currentScript;
  const say = (name) => (script && script.dataset[name]) || "";
  const owner = script && script.dataset.account;
  let store;
  try { store = window.sessionStorage; store.getItem(PREFIX); } catch (_error) { return; }

  const read = (key) => { try { return JSON.parse(store.getItem(key)); } catch (_error) { return null; } };
  const write = (key, value) => { try { store.setItem(key, JSON.stringify(value)); } catch (_error) { /* full */ } };
  const keys = () => Object.keys(store).filter((key) => key.startsWith(PREFIX));

  const KEPT = "textarea, select, input:not([type]), input[type=text], input[type=number], input[type=date], " +
    "input[type=email], input[type=tel], input[type=url], input[type=search], input[type=checkbox], input[type=radio]";

  const eligible = (form) => (form.method || "").toLowerCase() === "post" && form.dataset.keepDraft !== "off" &&
    !form.hasAttribute("hx-post") && !form.querySelector("input[type=password]") &&
    (!form.hasAttribute("data-upload") || form.querySelector("textarea")) &&
    form.querySelector("textarea, input:not([type]), input[type=text]");

  const fields = (form) => Array.from(form.elements).filter((el) => el.name && el.matches(KEPT) && !el.disabled);

  const values = (form) => fields(form).map((el) => {
    if (el.type === "checkbox" || el.type === "radio") return [el.name, el.checked ? el.value : null];
    if (el.multiple) return [el.name, Array.from(el.selectedOptions).map((o) => o.value)];
    return [el.name, el.value];
  });

  // What the server put in the form (the HTML's own values), even if the person typed before this script ran.
  const served = (form) => fields(form).map((el) => {
    if (el.type === "checkbox" || el.type === "radio") return [el.name, el.defaultChecked ? el.value : null];
    if (el.tagName === "SELECT") {
      const chosen = Array.from(el.options).filter((o) => o.defaultSelected).map((o) => o.value);
      if (el.multiple) return [el.name, chosen];
      return [el.name, chosen.length ? chosen[chosen.length - 1] : (el.options[0] ? el.options[0].value : "")];
    }
    return [el.name, el.defaultValue];
  });

  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  const apply = (form, saved) => {
    fields(form).forEach((el, i) => {
      const entry = saved[i];
      if (!entry || entry[0] !== el.name) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = entry[1] !== null;
      else if (el.multiple) Array.from(el.options).forEach((o) => { o.selected = entry[1].includes(o.value); });
      else el.value = entry[1];
    });
    const details = form.closest("details");
    if (details) details.open = true;
  };

  // A form is known by where it posts and what it is about (hidden fields such as the report's period), not by
  // the page's address: after a refused post the same form is shown at the post's address.
  const forms = Array.from(document.forms).filter(eligible);
  const identity = (form) => Array.from(form.querySelectorAll("input[type=hidden]"))
    .filter((el) => el.name && !["csrf_token", "version", "next", "form_key"].includes(el.name))
    .map((el) => el.name + "=" + el.value).join("&");
  const keyOf = (form) => {
    const action = form.getAttribute("action") || "";
    const twins = forms.filter((f) => (f.getAttribute("action") || "") === action && identity(f) === identity(form));
    return PREFIX + owner + "|" + action + "|" + identity(form) + "|" + twins.indexOf(form);
  };

  // A form was sent from this tab and the browser came to this page. A page without the person (the login
  // page) leaves the draft for later; a refusal (an error, or the stale-form warning) keeps it; any other page
  // of the signed-in person means the post went through (most say so; a plan import shows its preview).
  const refused = document.querySelector(".alert.error, .field-error, #feedback.warn");
  keys().forEach((key) => {
    const draft = read(key);
    if (!draft || !draft.sent) return;
    if (owner && !refused) { store.removeItem(key); return; }
    draft.sent = false;
    write(key, draft);
  });

  if (!owner) return;

  const notice = (form, text, onRestore) => {
    const box = document.createElement("div");
    box.className = "alert warn draft-notice";
    box.setAttribute("role", "status");
    box.textContent = text;
    if (onRestore) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = say("restore");
      button.addEventListener("click", () => { onRestore(); box.textContent = say("restored"); });
      box.append(" ", button);
    }
    form.prepend(box);
  };

  forms.forEach((form) => {
    const key = keyOf(form);
    const baseline = served(form);  // what the server put in the form, before anything is put back
    let base = baseline;  // what the text was typed over: the saved form
    const draft = read(key);
    if (draft && Array.isArray(draft.typed)) {
      if (same(draft.typed, baseline)) {
        // A refusal shows back what was typed: still unsent, and still typed over the saved form.
        if (refused) base = draft.base;
        else store.removeItem(key);
      } else if (same(draft.base, baseline)) {
        apply(form, draft.typed);
        notice(form, say("restored"));
      } else {
        // The saved form changed since (another device, a colleague): the person decides.
        notice(form, say("differs"), () => apply(form, draft.typed));
      }
    }
    const keep = (sent) => {
      const typed = values(form);
      if (same(typed, base) && !sent) store.removeItem(key);
      else write(key, { typed, base, sent, at: Date.now() });
    };
    form.addEventListener("input", () => keep(false));
    form.addEventListener("change", () => keep(false));
    form.addEventListener("submit", () => keep(true));
  });

  // Signing out in this tab takes this tab's drafts with it (a shared computer); another tab keeps its own.
  document.addEventListener("submit", (event) => {
    if ((event.target.getAttribute("action") || "") === "/logout") keys().forEach((key) => store.removeItem(key));
  });
})();
