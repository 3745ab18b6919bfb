// Copy buttons: <button data-copy-target="#id">
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
function fallbackCopy(text) {
  const ta = document.createElement("textarea");
  ta.value = text; ta.setAttribute("readonly", ""); ta.style.position = "fixed"; ta.style.opacity = "0";
  document.body.appendChild(ta); ta.select();
  try { document.execCommand("copy"); } catch (e) { /* ignore */ }
  document.body.removeChild(ta);
}
