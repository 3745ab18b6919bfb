// Service worker of meeting reminders (served at /notify-sw.js with "Service-Worker-Allowed: /").
// Notifications with action buttons (Join) must belong to a service worker registration; the meetings page shows
// them with registration.showNotification(...) or posts {type: "meeting-reminder", ...} here. It caches nothing
// and handles no fetches: it only opens the meeting when the notification or its Join action is clicked.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.type !== "meeting-reminder" || !msg.url) return;
  event.waitUntil(self.registration.showNotification(msg.title, {
    body: msg.body, tag: msg.tag, requireInteraction: true,
    actions: [{ action: "join", title: msg.joinLabel || "Join" }],
    data: { url: msg.url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  const url = event.notification.data && event.notification.data.url;
  event.notification.close();
  if (!url || (event.action && event.action !== "join")) return;
  event.waitUntil(self.clients.openWindow(url));
});
