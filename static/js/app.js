// Page behaviour for every page. No inline handlers anywhere (the CSP forbids them): templates declare what they
// want with data attributes, and the delegated listeners below act on them.
(function () {
  "use strict";

  // --- copy buttons: <button data-copy-target="#id" data-copied-label="Copied"> ---------------------------------
  function fallbackCopy(text) {
    const ta = document.createElement("textarea");
    ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
    document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); } catch (e) { /* ignore */ }
    document.body.removeChild(ta);
  }
  document.addEventListener("click", (ev) => {
    const btn = ev.target.closest("[data-copy-target]");
    if (!btn) return;
    const el = document.querySelector(btn.dataset.copyTarget);
    if (!el) return;
    const text = el.innerText.trim();
    const done = () => {
      const old = btn.dataset.label || btn.textContent;
      btn.dataset.label = old;
      btn.textContent = btn.dataset.copiedLabel || "Copied";
      setTimeout(() => { btn.textContent = old; }, 1600);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => { fallbackCopy(text); done(); });
    } else { fallbackCopy(text); done(); }
  });

  // --- <form data-confirm="Question?">: ask before submitting ------------------------------------------------------
  // <form data-confirm-questions='{action: {selection: "question", ids: {"<ticked boxes>": "question"}}}'>: a bulk
  // form asks the question of the chosen action and selection (the server wrote each, with its count and plural).
  function bulkQuestion(form) {
    let questions;
    try { questions = JSON.parse(form.dataset.confirmQuestions); } catch (e) { return ""; }
    const byAction = questions[form.elements.action && form.elements.action.value];
    if (!byAction) return "";
    const selection = form.elements.selection ? form.elements.selection.value : "ids";
    if (selection !== "ids") return byAction[selection] || "";
    const ticked = form.querySelectorAll("input[name=ids]:checked").length;
    return ticked ? byAction.ids[String(ticked)] || "" : "";
  }
  document.addEventListener("submit", (ev) => {
    const form = ev.target.closest("form[data-confirm], form[data-confirm-questions]");
    if (!form) return;
    const question = form.dataset.confirmQuestions ? bulkQuestion(form) : form.dataset.confirm;
    if (question && !window.confirm(question)) ev.preventDefault();
  });

  // --- <select data-autosubmit>: submit its form when the choice changes (a <noscript> button covers no-JS) ------
  document.addEventListener("change", (ev) => {
    const field = ev.target.closest("[data-autosubmit]");
    if (!field || !field.form) return;
    if (field.form.requestSubmit) field.form.requestSubmit(); else field.form.submit();
  });

  // --- "select all" checkbox: <input type=checkbox data-select-all="CSS selector of the boxes"> ---------------------
  function boxesOf(master) { return Array.from(document.querySelectorAll(master.dataset.selectAll)); }
  function syncMaster(master) {
    const boxes = boxesOf(master);
    const checked = boxes.filter((b) => b.checked).length;
    master.checked = boxes.length > 0 && checked === boxes.length;
    master.indeterminate = checked > 0 && checked < boxes.length;
  }
  document.addEventListener("change", (ev) => {
    const target = ev.target;
    if (!(target instanceof HTMLInputElement) || target.type !== "checkbox") return;
    if (target.matches("[data-select-all]")) {
      boxesOf(target).forEach((b) => { b.checked = target.checked; });
      target.indeterminate = false;
      return;
    }
    document.querySelectorAll("[data-select-all]").forEach((master) => {
      if (boxesOf(master).includes(target)) syncMaster(master);
    });
  });
  document.querySelectorAll("[data-select-all]").forEach(syncMaster);

  // --- the menu button of narrow screens: opens and closes the navigation panel -------------------------------------
  const menu = document.querySelector(".menu-button");
  const panel = menu && document.getElementById(menu.getAttribute("aria-controls"));
  if (menu && panel) {
    const setOpen = (open) => {
      menu.setAttribute("aria-expanded", String(open));
      panel.classList.toggle("open", open);
    };
    menu.addEventListener("click", () => {
      const open = menu.getAttribute("aria-expanded") !== "true";
      setOpen(open);
      if (open) {
        const first = panel.querySelector("a, select, button");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && menu.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        menu.focus();
      }
    });
    document.addEventListener("click", (ev) => {
      if (menu.getAttribute("aria-expanded") === "true" && !ev.target.closest(".sidebar")) setOpen(false);
    });
  }

  // --- form errors: where the user is looking --------------------------------------------------------------------
  // A page that comes back with a form in error moves focus (and the view) to it: one field in error gets the focus
  // itself, several get a summary at the top of their form (role=alert, a link to each field), focused. Each field
  // is marked aria-invalid and described by its error. With no field in error, an error message (what a form answered
  // with a redirect) takes the focus. The summary's heading comes from <body data-error-summary-label>.
  const FIELD = "input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea";
  function fieldOf(error) {  // the field an error belongs to: the one it describes, else the nearest before it
    const described = error.id && document.querySelector(`[aria-describedby~="${error.id}"]`);
    if (described) return described;
    for (let node = error; node && node !== document.body; node = node.parentElement) {
      for (let prev = node.previousElementSibling; prev; prev = prev.previousElementSibling) {
        if (prev.matches(FIELD)) return prev;
        const inside = prev.querySelectorAll(FIELD);
        if (inside.length) return inside[inside.length - 1];
      }
    }
    return null;
  }
  function labelOf(field) {
    const label = field.id && document.querySelector(`label[for="${field.id}"]`);
    return label ? label.textContent.trim().replace(/\s*:$/, "") : (field.getAttribute("aria-label") || field.name);
  }
  let summaries = 0;
  function showErrors(root) {
    const found = [];  // [field, error element]
    root.querySelectorAll(".errorlist").forEach((error) => {
      if (!error.textContent.trim()) return;
      const field = fieldOf(error);
      if (field && !found.some(([f]) => f === field)) found.push([field, error]);
    });
    root.querySelectorAll('[aria-invalid="true"]').forEach((field) => {
      if (!found.some(([f]) => f === field)) found.push([field, null]);
    });
    found.forEach(([field, error], i) => {
      field.setAttribute("aria-invalid", "true");
      if (!error) return;
      if (!error.id) error.id = `${field.id || "field-" + i}-error`;
      const described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (!described.includes(error.id)) field.setAttribute("aria-describedby", [...described, error.id].join(" "));
    });
    let target = null;
    if (found.length > 1) {
      const form = found[0][0].form || found[0][0].closest("form");
      const summary = document.createElement("div");
      summary.className = "banner err error-summary";
      summary.id = `error-summary-${++summaries}`;
      summary.setAttribute("role", "alert");
      summary.tabIndex = -1;
      const heading = document.createElement("p");
      heading.className = "m-0";
      heading.textContent = document.body.dataset.errorSummaryLabel || "";
      const list = document.createElement("ul");
      found.forEach(([field, error]) => {
        if (!field.id) return;
        const item = document.createElement("li");
        const link = document.createElement("a");
        link.href = `#${field.id}`;
        link.textContent = error ? `${labelOf(field)}: ${error.textContent.trim()}` : labelOf(field);
        item.appendChild(link);
        list.appendChild(item);
      });
      const body = document.createElement("div");
      body.append(heading, list);
      summary.appendChild(body);
      if (form) form.prepend(summary); else found[0][0].before(summary);
      target = summary;
    } else if (found.length === 1) {
      target = found[0][0];
    } else if (!(document.activeElement && document.activeElement.matches(FIELD))) {  // autofocus already there
      target = root.querySelector(".messages .error");  // a form answered by a redirect and a message
      if (target && !target.hasAttribute("tabindex")) target.tabIndex = -1;
    }
    if (target) {
      target.focus({ preventScroll: true });
      target.scrollIntoView({ block: "center" });
    }
  }
  document.addEventListener("click", (ev) => {  // a summary's link puts the focus in its field
    const link = ev.target.closest(".error-summary a[href^='#']");
    const field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    ev.preventDefault();
    field.focus({ preventScroll: true });
    field.scrollIntoView({ block: "center" });
  });
  showErrors(document.querySelector("main") || document.body);
  document.body.addEventListener("htmx:afterSwap", (ev) => {  // a form answered in place
    const source = ev.detail && ev.detail.requestConfig && ev.detail.requestConfig.elt;
    if (source && source.closest("form")) showErrors(ev.detail.target || document.body);
  });

  // --- file inputs in the page's language (templates/_file_input.html): show the chosen file's name ---------------
  document.addEventListener("change", (ev) => {
    const input = ev.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    const name = input.closest(".file-input") && input.closest(".file-input").querySelector("[data-file-name]");
    if (!name) return;
    if (name.dataset.empty === undefined) name.dataset.empty = name.textContent;
    name.textContent = input.files && input.files.length ? input.files[0].name : name.dataset.empty;
  });

  // --- skip link: move focus into <main> (tabindex=-1) so the next Tab starts there ----------------------------------
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a.skip-link");
    if (!link) return;
    const target = document.querySelector(link.getAttribute("href"));
    if (target) { ev.preventDefault(); target.focus(); target.scrollIntoView(); }
  });
})();
