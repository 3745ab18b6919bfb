// Meetings list: Join buttons driven by the page clock, notifications at T-1 min, self-updating list.
// The server renders data-start / data-end / data-join-from (epoch ms); everything time-based here reads
// Date.now(), so tests control it with Playwright's clock.
(function () {
  "use strict";
  const root = document.getElementById("meetings-list");
  if (!root) return;
  const POLL_MS = 10000;
  const NOTIFY_BEFORE_MS = 60000;
  const JOIN_EARLY_MS = 5 * 60000;
  const notified = new Set(JSON.parse(sessionStorage.getItem("calendarhub.notified") || "[]"));
  let etag = root.dataset.etag || "";
  window.calendarHubMeetings = {};

  function rememberNotified(id) {
    notified.add(id);
    sessionStorage.setItem("calendarhub.notified", JSON.stringify(Array.from(notified).slice(-200)));
  }

  function tick() {
    const now = Date.now();
    root.querySelectorAll(".mtg[data-start]").forEach((row) => {
      const start = Number(row.dataset.start);
      const end = Number(row.dataset.end);
      const allDay = row.classList.contains("allday");
      const live = now >= start && now < end;
      const soon = !live && now >= start - JOIN_EARLY_MS && now < start;
      const past = now >= end;
      row.classList.toggle("live", live && !allDay);
      row.classList.toggle("soon", soon && !allDay);
      row.classList.toggle("past", past);
      const state = row.querySelector(".state");
      if (state && !allDay) {
        state.textContent = live ? root.dataset.liveLabel : soon ? root.dataset.soonLabel : "";
      }
      const btn = row.querySelector("button.join");
      if (btn) {
        const enabled = now >= Number(btn.dataset.joinFrom) && now < end;
        if (btn.disabled === enabled) btn.disabled = !enabled;
        if (!allDay && now >= start - NOTIFY_BEFORE_MS && now < start && !notified.has(row.dataset.id)) {
          rememberNotified(row.dataset.id);
          notify(row.dataset.title, btn.dataset.joinUrl, start);
        }
      }
    });
  }

  // --- notifications: asked for with a button, never on load --------------------------------------------------
  // A notification with a Join action button needs a service worker (/notify-sw.js); where workers are not
  // available (plain http other than localhost) a page notification is shown and clicking it joins.
  const notifyBtn = document.getElementById("notify-btn");
  let workerReg = null;
  function canNotify() { return "Notification" in window && Notification.permission === "granted"; }
  function registerWorker() {
    if (workerReg || !root.dataset.swUrl || !("serviceWorker" in navigator) || !window.isSecureContext) {
      return Promise.resolve(workerReg);
    }
    return navigator.serviceWorker.register(root.dataset.swUrl, { scope: "/" })
      .then((reg) => { workerReg = reg; return reg; })
      .catch(() => null);
  }
  // Its state beside it: off (the button asks), on (granted) or blocked (denied: only the browser can undo it).
  const notifyState = document.getElementById("notify-state");
  function showNotifyState() {
    if (!notifyBtn || !notifyState || !("Notification" in window)) return;
    const permission = Notification.permission;
    const key = permission === "granted" ? "on" : permission === "denied" ? "blocked" : "off";
    notifyBtn.hidden = permission !== "default";
    notifyState.textContent = notifyState.dataset[key];
    notifyState.dataset.state = key;
    notifyState.hidden = false;
  }
  if (notifyBtn && "Notification" in window) {
    showNotifyState();
    notifyBtn.addEventListener("click", () => {
      Notification.requestPermission().then((permission) => {
        showNotifyState();
        if (permission === "granted") registerWorker();
      });
    });
  }
  if (canNotify()) registerWorker();

  function notify(title, url, start) {
    if (!canNotify()) return;
    const when = new Date(start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const joinLabel = root.dataset.joinLabel || "Join";
    const tag = `meeting-${start}`;
    const record = (via) => { window.calendarHubMeetings.lastNotification = { title: title, url: url, via: via }; };
    const fallback = () => {
      // Without a worker there are no action buttons: clicking the notification is its Join action.
      const n = new Notification(root.dataset.notifyTitle, {
        body: `${when} · ${title}\n${joinLabel} →`, tag: tag, data: { url: url }, requireInteraction: true,
      });
      n.onclick = () => { window.open(url, "_blank", "noopener"); n.close(); };
      record("page");
    };
    registerWorker().then((reg) => {
      if (!reg) { fallback(); return; }
      return reg.showNotification(root.dataset.notifyTitle, {
        body: `${when} · ${title}`, tag: tag, requireInteraction: true,
        actions: [{ action: "join", title: joinLabel }], data: { url: url },
      }).then(() => record("service-worker"), fallback);
    });
  }

  // --- Join -----------------------------------------------------------------------------------------------------
  root.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button.join");
    if (!btn || btn.disabled) return;
    window.open(btn.dataset.joinUrl, "_blank", "noopener");
  });

  // --- self-update: fetch the list partial with If-None-Match when told it changed (live.js: a pushed event, or
  // its slower poll when the stream is unavailable); swap only when it changed -----------------------------------
  let polling = false;
  let pollAgain = false;
  async function poll() {
    if (polling) { pollAgain = true; return; }
    polling = true;
    pollAgain = false;
    try {
      const resp = await fetch(root.dataset.partialUrl, {
        headers: etag ? { "If-None-Match": etag, "X-Requested-With": "fetch" } : { "X-Requested-With": "fetch" },
        cache: "no-store", credentials: "same-origin",
      });
      if (resp.status === 200) {
        const html = await resp.text();
        etag = resp.headers.get("ETag") || "";
        root.innerHTML = html;
        root.dataset.etag = etag;
        tick();
        root.dispatchEvent(new CustomEvent("meetings:updated"));
      }
    } catch (e) { /* offline: try again next time */ }
    finally {
      polling = false;
      if (pollAgain) poll();  // a change arrived while this fetch was under way
    }
  }
  root.addEventListener("live:change", (ev) => { ev.preventDefault(); poll(); });
  Object.assign(window.calendarHubMeetings, { poll: poll, tick: tick });

  tick();
  setInterval(tick, 1000);
  // Without live.js or a live token (a page with no calendar), keep the old poll.
  if (!window.calendarHubLive || !root.dataset.liveToken) setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { poll(); tick(); } });
  if (location.search.includes("past=1")) {
    const today = document.getElementById("today");
    if (today) today.scrollIntoView({ block: "start" });
  }
})();
