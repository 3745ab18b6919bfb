// Room display: free or busy until when, now and next, today's agenda, Join (lit 5 minutes before the start
// until the end), Book now / Extend / End now / Check in. Everything that changes with the clock is computed
// here from the last document the server sent (times as epoch ms, Date.now()), so the display stays right
// without the server for as long as it is away, marked stale with the time of its last update, and recovers
// by itself. The document is polled with If-None-Match (a 304 costs the server one query).
(function () {
  "use strict";
  const root = document.getElementById("room-display");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const L = (key, values) => {
    let text = root.dataset["l" + key.replace(/(^|-)(\w)/g, (_m, _d, c) => c.toUpperCase())] || key;
    Object.entries(values || {}).forEach(([k, v]) => { text = text.replace("{" + k + "}", v); });
    return text;
  };
  const POLL_MS = Number(root.dataset.pollMs) || 5000;
  const STALE_AFTER_MS = POLL_MS * 3;
  const JOIN_EARLY_MS = 5 * 60000;
  const CHECKIN_EARLY_MS = 5 * 60000;
  const EXTEND_MS = 15 * 60000;
  const api = (window.roomDisplay = { lastJoin: null, wakeLock: "unrequested" });

  let data = JSON.parse(root.dataset.initial || "{}");
  let etag = data.version || "";
  let lastOk = Date.now();
  let lastSignature = "";
  let messageTimer = null;
  let busyAction = false;

  function fmt(ms) {
    try {
      return new Intl.DateTimeFormat(root.dataset.lang || undefined, {
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: data.time_zone || "UTC",
      }).format(new Date(ms));
    } catch (e) {
      const d = new Date(ms);
      return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    }
  }

  function spanEnd(now) {
    for (const [s, e] of data.busy || []) if (s <= now && now < e) return e;
    return null;
  }
  function nextBusy(now) {
    let best = null;
    for (const [s] of data.busy || []) if (s > now && (best === null || s < best)) best = s;
    return best;
  }
  function freeBetween(from, to) {
    return !(data.busy || []).some(([s, e]) => s < to && from < e);
  }

  // --- the view, computed from the document and the clock --------------------------------------------------
  function view(now) {
    const meetings = (data.meetings || []).filter((m) => m.end > now || m.all_day);
    const bookings = (data.meetings || []).filter((m) => m.booking);
    const current = bookings.find((m) => m.start <= now && now < m.end) || null;
    const upcoming = bookings.find((m) => m.start > now) || null;
    const busyUntil = spanEnd(now);
    const fbOk = data.freebusy && data.freebusy.ok;
    let status, until;
    if (!data.active) { status = "unknown"; until = data.unavailable || ""; }
    else if (busyUntil) { status = "busy"; until = L("until", { time: fmt(busyUntil) }); }
    else if (!fbOk) { status = "unknown"; until = (data.freebusy && data.freebusy.error_title) || ""; }
    else {
      const next = nextBusy(now);
      status = "free";
      until = next && next < data.day_end ? L("until", { time: fmt(next) }) : L("rest-of-day");
    }
    const lengths = [];
    if (data.active && status === "free" && !isStale(now)) {  // booking needs the server: not offered offline
      const next = nextBusy(now);
      for (const n of (data.policy && data.policy.lengths) || []) {
        if (!next || now + n * 60000 <= next) lengths.push(n);
      }
    }
    return { now, meetings, current, upcoming, status, until, lengths };
  }

  function joinLit(m, now) { return !!m.join_url && now >= m.start - JOIN_EARLY_MS && now < m.end; }

  function meetingBlock(m, now, kind) {
    const box = document.createElement("div");
    if (!m) {
      const p = document.createElement("p");
      p.className = "rd-empty";
      p.textContent = kind === "current" ? L("nothing-now") : L("nothing-next");
      box.appendChild(p);
      return box;
    }
    box.dataset.event = m.id;
    const title = document.createElement("p");
    title.className = "rd-title";
    title.textContent = m.title;
    const when = document.createElement("p");
    when.className = "rd-when";
    when.textContent = m.all_day ? L("all-day") : fmt(m.start) + " – " + fmt(m.end);
    box.append(title, when);
    if (m.organizer) {
      const who = document.createElement("p");
      who.className = "rd-organizer";
      who.textContent = m.organizer;
      box.appendChild(who);
    }
    const actions = document.createElement("div");
    actions.className = "rd-actions";
    if (m.join_url) {
      const join = button("rd-join", "", { action: "join", url: m.join_url, provider: m.join_provider || "" });
      const word = document.createElement("span");
      word.className = "rd-join-word";
      word.textContent = L("join");
      join.append(word, providerMark(m));
      join.disabled = !joinLit(m, now);
      actions.appendChild(join);
    }
    if (m.needs_checkin && !m.checked_in && now >= m.start - CHECKIN_EARLY_MS && now < m.release_at) {
      actions.appendChild(button("rd-checkin", L("check-in"), { action: "check-in", event: m.id }));
      const hint = document.createElement("p");
      hint.className = "rd-hint";
      hint.textContent = L("check-in-by", { time: fmt(m.release_at) });
      box.appendChild(hint);
    } else if (m.checked_in && kind === "current" && data.policy && data.policy.checkin_required) {
      const done = document.createElement("p");
      done.className = "rd-hint";
      done.textContent = L("checked-in");
      box.appendChild(done);
    }
    if (kind === "current" && m.can_extend && freeBetween(m.end, m.end + EXTEND_MS)) {
      actions.appendChild(button("rd-extend", L("extend"), { action: "extend", event: m.id }));
    }
    if (kind === "current" && m.can_end) {
      actions.appendChild(button("rd-end", L("end"), { action: "end", event: m.id }));
    }
    if (actions.childElementCount) box.appendChild(actions);
    return box;
  }

  // The meeting's service as the meetings list names it (its icon, then its name), from the document.
  function providerMark(m) {
    const mark = document.createElement("span");
    mark.className = "rd-provider";
    if (m.provider_icon) {
      const icon = document.createElement("img");
      icon.src = m.provider_icon;
      icon.alt = "";
      icon.width = icon.height = 24;
      icon.className = "rd-provider-icon";
      mark.appendChild(icon);
    }
    const name = document.createElement("span");
    name.className = "rd-provider-name";
    name.textContent = m.provider_label || "";
    mark.appendChild(name);
    return mark;
  }

  function button(cls, text, dataset) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "rd-button " + cls;
    b.textContent = text;
    Object.assign(b.dataset, dataset);
    if (busyAction && dataset.action !== "join") b.disabled = true;
    return b;
  }

  function signature(v) {
    const m = (x) => (x ? [x.id, x.title, x.start, x.end, x.organizer, joinLit(x, v.now), x.provider_label,
      x.checked_in,
      x.needs_checkin && v.now >= x.start - CHECKIN_EARLY_MS && v.now < x.release_at,
      freeBetween(x.end, x.end + EXTEND_MS)].join("|") : "-");
    return [etag, v.status, v.until, m(v.current), m(v.upcoming), v.lengths.join(","), busyAction,
      v.meetings.map((x) => x.id + (x.start <= v.now) + x.declined).join(",")].join("#");
  }

  function render() {
    const now = Date.now();
    $("rd-clock").textContent = fmt(now);
    const v = view(now);
    const sig = signature(v);
    if (sig === lastSignature) return v;
    lastSignature = sig;
    if (data.room) {
      $("rd-name").textContent = data.room.name;
    }
    const status = $("rd-status");
    status.className = "rd-status " + v.status;
    $("rd-status-word").textContent = v.status === "free" ? L("free") : v.status === "busy" ? L("busy")
      : (data.active ? L("unknown") : L("unavailable"));
    $("rd-status-until").textContent = v.until;
    $("rd-current").replaceChildren(meetingBlock(v.current, now, "current"));
    $("rd-upcoming").replaceChildren(meetingBlock(v.upcoming, now, "next"));
    const book = $("rd-book");
    book.hidden = v.lengths.length === 0;
    $("rd-book-buttons").replaceChildren(...v.lengths.map((n) =>
      button("rd-book-length", L("minutes", { n: n }), { action: "book", minutes: String(n) })));
    const list = $("rd-agenda");
    const items = (data.meetings || []).map((m) => {
      const li = document.createElement("li");
      li.className = "rd-item" + (m.end <= now ? " past" : "") + (m.start <= now && now < m.end ? " live" : "")
        + (m.declined || !m.booking ? " released" : "");
      li.dataset.event = m.id;
      const t = document.createElement("span");
      t.className = "rd-item-time";
      t.textContent = m.all_day ? L("all-day") : fmt(m.start) + " – " + fmt(m.end);
      const n = document.createElement("span");
      n.className = "rd-item-title";
      n.textContent = m.title + (m.declined || !m.booking ? " · " + L("released") : "");
      li.append(t, n);
      if (m.join_url && m.provider_label) li.appendChild(providerMark(m));
      return li;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "rd-item empty";
      li.textContent = L("no-meetings");
      items.push(li);
    }
    list.replaceChildren(...items);
    fitAgenda();
    root.dataset.status = v.status;
    return v;
  }

  // Rows that do not fit the agenda's panel are hidden whole (past ones first, then the latest), and counted.
  function fitAgenda() {
    const list = $("rd-agenda");
    const rows = [...list.children];
    rows.forEach((li) => { li.hidden = false; });
    const more = $("rd-more");
    more.hidden = true;
    const overflows = () => list.scrollHeight > list.clientHeight + 1;
    let left = 0;
    while (overflows() && left < rows.length - 1) {
      if (more.hidden) {  // the note takes its own line first
        more.hidden = false;
        more.textContent = L("more", { n: 1 });
        continue;
      }
      const victim = rows.find((li) => !li.hidden && li.classList.contains("past"))
        || rows.filter((li) => !li.hidden).pop();
      victim.hidden = true;
      left += 1;
      more.textContent = L("more", { n: left });
    }
    if (!left) more.hidden = true;
  }

  function isStale(now) { return now - lastOk > STALE_AFTER_MS; }

  function markStale() {
    const stale = isStale(Date.now());
    const el = $("rd-stale");
    el.hidden = !stale;
    root.classList.toggle("stale", stale);
    if (stale) el.textContent = L("offline", { time: fmt(lastOk) });
  }

  function tick() {
    render();
    markStale();
  }

  // A new release behind the same address (the document's build differs from this page's): load the new page.
  // At most once in ten minutes, so two releases side by side behind one address never make it reload in a loop.
  const BUILD = data.build || "";
  function newBuild(doc) {
    if (!BUILD || !doc.build || doc.build === BUILD || busyAction) return false;
    let last = 0;
    try { last = Number(sessionStorage.getItem("rd-build-reload")) || 0; } catch (e) { /* storage refused */ }
    if (Date.now() - last < 10 * 60000) return false;
    try { sessionStorage.setItem("rd-build-reload", String(Date.now())); } catch (e) { /* storage refused */ }
    location.reload();
    return true;
  }

  function apply(doc) {
    if (!doc || typeof doc !== "object" || !("meetings" in doc)) return;
    if (newBuild(doc)) return;
    data = doc;
    etag = doc.version || etag;
    lastOk = Date.now();
    lastSignature = "";
    tick();
  }

  // --- polling -------------------------------------------------------------------------------------------------
  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const resp = await fetch(root.dataset.stateUrl, {
        headers: etag ? { "If-None-Match": etag } : {}, cache: "no-store", credentials: "omit",
      });
      if (resp.status === 304) { lastOk = Date.now(); markStale(); }
      else if (resp.ok) apply(await resp.json());
    } catch (e) { /* offline: keep showing what we have */ }
    finally { polling = false; markStale(); }
  }

  function say(text) {
    const el = $("rd-message");
    el.textContent = text;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { el.textContent = ""; }, 8000);
  }

  async function act(action, body) {
    busyAction = true;
    lastSignature = "";
    render();
    say(L("working"));
    try {
      const resp = await fetch(root.dataset.actionUrl.replace("ACTION", action), {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        credentials: "omit", cache: "no-store",
      });
      const doc = await resp.json().catch(() => null);
      busyAction = false;
      if (doc) apply(doc);
      if (doc && doc.error) say(doc.error.message);
      else if (!resp.ok) say(L("failed"));
      else if (action === "book") {
        const end = spanEnd(Date.now());
        say(end ? L("booked", { time: fmt(end) }) : "");
      } else say("");
    } catch (e) {
      busyAction = false;
      say(L("failed"));
    } finally {
      busyAction = false;
      lastSignature = "";
      render();
    }
  }

  root.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.disabled) return;
    const action = b.dataset.action;
    if (action === "join") {
      api.lastJoin = b.dataset.url;
      window.open(b.dataset.url, "_blank", "noopener");
      return;
    }
    if (action === "book") act("book", { minutes: Number(b.dataset.minutes) });
    else act(action, { event: b.dataset.event });
  });

  // --- kiosk: keep the screen on, full screen on request ----------------------------------------------------
  async function keepAwake() {
    if (!("wakeLock" in navigator)) { api.wakeLock = "unavailable"; return; }
    try {
      const lock = await navigator.wakeLock.request("screen");
      api.wakeLock = "active";
      lock.addEventListener("release", () => { api.wakeLock = "released"; });
    } catch (e) { api.wakeLock = "refused"; }
  }
  const fs = $("rd-fullscreen");
  fs.hidden = !document.documentElement.requestFullscreen;
  fs.addEventListener("click", () => {
    document.documentElement.requestFullscreen().catch(() => {});
  });
  document.addEventListener("fullscreenchange", () => { fs.hidden = !!document.fullscreenElement; });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) { keepAwake(); poll(); tick(); }
  });
  window.addEventListener("resize", fitAgenda);
  document.addEventListener("contextmenu", (ev) => ev.preventDefault());

  Object.assign(api, { poll: poll, tick: tick, view: () => view(Date.now()), data: () => data,
    lastUpdate: () => lastOk });
  keepAwake();
  tick();
  setInterval(tick, 1000);
  setInterval(poll, POLL_MS);
})();
