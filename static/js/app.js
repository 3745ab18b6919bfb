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

  // --- skip link: move focus into <main> (tabindex=-1) so the next Tab starts there ----------------------------------
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest("a.skip-link");
    if (!link) return;
    const target = document.querySelector(link.getAttribute("href"));
    if (target) { ev.preventDefault(); target.focus(); target.scrollIntoView(); }
  });
})();
