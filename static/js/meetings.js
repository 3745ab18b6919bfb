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
  const notifyBtn = document.getElementById("notify-btn");
  function canNotify() { return "Notification" in window && Notification.permission === "granted"; }
  if (notifyBtn && "Notification" in window && Notification.permission === "default") {
    notifyBtn.hidden = false;
    notifyBtn.addEventListener("click", () => {
      Notification.requestPermission().then(() => { notifyBtn.hidden = Notification.permission !== "default"; });
    });
  }
  function notify(title, url, start) {
    if (!canNotify()) return;
    const when = new Date(start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    // Clicking the notification is its Join action (action buttons need a service worker; a click works
    // everywhere).
    const n = new Notification(root.dataset.notifyTitle, {
      body: `${when} · ${title}\n${root.dataset.joinLabel || "Join"} →`, tag: `meeting-${start}`,
      data: { url: url }, requireInteraction: true,
    });
    n.onclick = () => { window.open(url, "_blank", "noopener"); n.close(); };
    window.calendarHubMeetings.lastNotification = { title: title, url: url };
  }

  // --- Join -----------------------------------------------------------------------------------------------------
  root.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button.join");
    if (!btn || btn.disabled) return;
    window.open(btn.dataset.joinUrl, "_blank", "noopener");
  });

  // --- self-update: poll the list partial with If-None-Match; swap only when it changed ------------------------
  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
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
    finally { polling = false; }
  }
  Object.assign(window.calendarHubMeetings, { poll: poll, tick: tick });

  tick();
  setInterval(tick, 1000);
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { poll(); tick(); } });
  if (location.search.includes("past=1")) {
    const today = document.getElementById("today");
    if (today) today.scrollIntoView({ block: "start" });
  }
})();
