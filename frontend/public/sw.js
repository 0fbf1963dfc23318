// Taskbeat service worker: caches the app shell (index.html and the hashed
// assets it loads) so the app opens offline. API, WebSocket, admin and docs
// requests are never answered from this cache.
const CACHE = "taskbeat-shell-v1";
const BYPASS = /^\/(api|ws|admin|static|health|ready|metrics)(\/|$)/;

// The page and the hashed files it loads up front; lazy chunks are added as they load.
async function cacheShell() {
  const cache = await caches.open(CACHE);
  const response = await fetch("/", { cache: "no-store" });
  const html = await response.clone().text();
  await cache.put("/", response);
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  await cache.addAll(assets);
}

self.addEventListener("install", (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))).then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || BYPASS.test(url.pathname)) return;
  if (event.request.mode === "navigate") {
    // Network first for the page, so a new build is picked up; the shell when offline.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          const copy = response.clone();
          void caches.open(CACHE).then((cache) => cache.put("/", copy));
          return response;
        })
        .catch(() => caches.match("/")),
    );
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    // Hashed file names never change: cache first.
    event.respondWith(
      caches.match(event.request).then(
        (hit) =>
          hit ||
          fetch(event.request).then((response) => {
            const copy = response.clone();
            void caches.open(CACHE).then((cache) => cache.put(event.request, copy));
            return response;
          }),
      ),
    );
  }
});

// Web Push (docs/notifications.md): the server sends {"title", "body", "url", "tag"}.
self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch {
    message = { body: event.data ? event.data.text() : "" };
  }
  const url = typeof message.url === "string" && message.url ? message.url : "/notifications";
  event.waitUntil(
    self.registration.showNotification(message.title || "Taskbeat", {
      body: message.body || "",
      tag: message.tag || undefined,
      icon: "/icon.svg",
      data: { url },
    }),
  );
});

// A click focuses an open Taskbeat tab on the task (or opens one).
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  // The server names the page by its public URL; this worker opens that page
  // on its own origin (never another site), so a differently configured base
  // URL (a dev port, a proxy) still lands on the task.
  const named = new URL(event.notification.data?.url || "/", location.origin);
  const target = new URL(named.pathname + named.search + named.hash, location.origin);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(async (windows) => {
      const tab = windows.find((w) => new URL(w.url).origin === location.origin);
      if (tab) {
        await tab.focus();
        return tab.navigate ? tab.navigate(target.href) : undefined;
      }
      return self.clients.openWindow(target.href);
    }),
  );
});
