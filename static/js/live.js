// Live regions: elements with data-live-topics / data-live-token (the {% live_follow %} tag) are refreshed when
// the server says one of their topics changed (Server-Sent Events from data-live-src; controlhub/tenancy/live.py).
// On a change each region first gets a cancelable "live:change" event: a page script may handle it (the meetings
// list fetches its partial with If-None-Match); otherwise the page fetches itself once and swaps every changed
// region by id. Without a stream (no EventSource, a WSGI server answering 204, a refused token) the regions are
// refreshed every FALLBACK_MS instead, and the stream is tried again every RETRY_STREAM_MS.
(function () {
  "use strict";
  const FALLBACK_MS = 30000;
  const RETRY_STREAM_MS = 60000;
  const STALL_MS = 15000;
  let source = null;
  let topicsKey = "";
  let state = "idle";
  let fallbackTimer = null;
  let stallTimer = null;
  let retryTimer = null;
  const dirty = new Set();
  let fetching = false;
  let again = false;

  const api = window.calendarHubLive = {
    state: () => state,
    connected: () => state === "open",
    events: 0,
    refreshes: 0,
  };

  function regions() {
    return Array.from(document.querySelectorAll("[data-live-token][data-live-topics]"));
  }

  function topicsOf(el) {
    return (el.dataset.liveTopics || "").split(" ").filter(Boolean);
  }

  function setState(next) {
    state = next;
    document.documentElement.dataset.live = next;
    if (next === "open") {
      stopFallback();
    } else if (!fallbackTimer) {
      fallbackTimer = setInterval(() => { if (state !== "open") refreshAll(); }, FALLBACK_MS);
    }
  }

  function stopFallback() {
    if (fallbackTimer) { clearInterval(fallbackTimer); fallbackTimer = null; }
    if (stallTimer) { clearTimeout(stallTimer); stallTimer = null; }
  }

  function connect(force) {
    const els = regions();
    const topics = Array.from(new Set(els.flatMap(topicsOf))).sort();
    const key = topics.join(" ");
    if (!force && key === topicsKey && source) return;
    if (source) { source.close(); source = null; }
    topicsKey = key;
    if (!els.length) { setState("idle"); stopFallback(); return; }
    if (!("EventSource" in window)) { setState("fallback"); return; }
    const tokens = Array.from(new Set(els.map((el) => el.dataset.liveToken)));
    const url = els[0].dataset.liveSrc + "?" + tokens.map((t) => "t=" + encodeURIComponent(t)).join("&");
    const es = source = new EventSource(url);
    setState("connecting");
    es.addEventListener("open", () => { if (source === es) setState("open"); });
    es.addEventListener("change", (ev) => {
      if (source !== es) return;
      api.events += 1;
      api.lastEvent = { topic: ev.data, at: Date.now() };
      route(ev.data);
    });
    es.addEventListener("error", () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused or not served (204, 400, 403): poll, and try the stream again later.
        source = null;
        setState("fallback");
        if (!retryTimer) retryTimer = setTimeout(() => { retryTimer = null; connect(true); }, RETRY_STREAM_MS);
      } else {
        // The browser reconnects by itself (with Last-Event-ID); poll meanwhile if that takes long.
        setState("connecting");
        if (!stallTimer) {
          stallTimer = setTimeout(() => { stallTimer = null; if (state !== "open") refreshAll(); }, STALL_MS);
        }
      }
    });
  }

  function route(topic) {
    regions().forEach((el) => {
      if (topic === "*" || topicsOf(el).includes(topic)) changed(el, topic);
    });
    flush();
  }

  function changed(el, topic) {
    const ev = new CustomEvent("live:change", { detail: { topic: topic }, cancelable: true });
    if (el.dispatchEvent(ev) && el.id) dirty.add(el.id);
  }

  function refreshAll() { route("*"); }

  function stripped(el) {
    const copy = el.cloneNode(true);
    copy.removeAttribute("data-live-token");
    return copy.outerHTML;
  }

  function swap(id, doc) {
    const old = document.getElementById(id);
    const fresh = doc.getElementById(id);
    if (!old || !fresh || stripped(old) === stripped(fresh)) return false;
    const active = document.activeElement;
    const focusId = active && active.id && old.contains(active) ? active.id : "";
    const node = document.importNode(fresh, true);
    old.replaceWith(node);
    if (window.htmx) window.htmx.process(node);
    if (focusId) {
      const again = document.getElementById(focusId);
      if (again) again.focus();
    }
    node.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
    return true;
  }

  // One fetch of the page at a time; changes arriving meanwhile are folded into one more fetch.
  async function flush() {
    if (!dirty.size) return;
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      do {
        again = false;
        const ids = Array.from(dirty);
        dirty.clear();
        const resp = await fetch(location.href, {
          headers: { "X-Requested-With": "fetch" }, credentials: "same-origin", cache: "no-store",
        });
        if (!resp.ok || resp.redirected) continue;
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        let swapped = false;
        ids.forEach((id) => { swapped = swap(id, doc) || swapped; });
        api.refreshes += 1;
        if (swapped) connect(false);
      } while (again || dirty.size);
    } catch (e) {
      /* offline: the next event or fallback tick tries again */
    } finally {
      fetching = false;
    }
  }

  document.addEventListener("htmx:afterSwap", () => connect(false));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state !== "open" && state !== "idle") refreshAll();
  });
  window.addEventListener("pagehide", () => { if (source) source.close(); source = null; topicsKey = ""; });
  window.addEventListener("pageshow", (ev) => { if (ev.persisted) connect(true); });
  Object.assign(api, { connect: connect, route: route });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => connect(false));
  } else {
    connect(false);
  }
})();
