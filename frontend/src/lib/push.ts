/**
 * Web Push for this browser (docs/notifications.md): the server's VAPID key,
 * the browser's subscription from the service worker, and its registration
 * with the API. The endpoints are not in the typed client while the backend
 * may not have them yet (a 404 hides the setting).
 */
import { authFetch } from "../api/client";
import { ApiError } from "../api/errors";

export interface PushKey {
  public_key: string;
  available: boolean;
}

interface ServerSubscription {
  id: number | string;
  endpoint: string;
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return authFetch(
    new Request(path, {
      method,
      headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": crypto.randomUUID() },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

/** The server's push key; null when the server has no Web Push (404) or it is switched off. */
export async function pushKey(): Promise<PushKey | null> {
  const response = await call("GET", "/api/notifications/push-key");
  if (response.status === 404) return null;
  const key = await json<PushKey>(response);
  return key.available && key.public_key ? key : null;
}

export const pushSupported = (): boolean =>
  typeof navigator !== "undefined" && "serviceWorker" in navigator && typeof window !== "undefined" && "PushManager" in window && "Notification" in window;

/** base64url (the VAPID public key's form) → bytes for applicationServerKey. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "=");
  const raw = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  return (await navigator.serviceWorker.getRegistration()) ?? navigator.serviceWorker.register("/sw.js");
}

async function serverSubscriptions(): Promise<ServerSubscription[]> {
  const data = await json<{ results?: ServerSubscription[] } | ServerSubscription[]>(await call("GET", "/api/notifications/push-subscriptions"));
  return Array.isArray(data) ? data : (data.results ?? []);
}

/** Is this browser subscribed, and is that subscription registered with the server? */
export async function pushState(): Promise<boolean> {
  const sub = await (await registration()).pushManager.getSubscription();
  if (!sub) return false;
  return (await serverSubscriptions()).some((s) => s.endpoint === sub.endpoint);
}

/** Ask permission, subscribe with the server's key, register the subscription. */
export async function enablePush(key: PushKey): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for this site in the browser's settings.");
  const reg = await navigator.serviceWorker.ready.then(() => registration());
  const existing = await reg.pushManager.getSubscription();
  const sub = existing ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key) }));
  const body = sub.toJSON() as { endpoint: string; keys: { p256dh: string; auth: string } };
  await json(await call("POST", "/api/notifications/push-subscriptions", { endpoint: body.endpoint, keys: body.keys, user_agent: navigator.userAgent.slice(0, 255) }));
}

/** Unsubscribe this browser and remove its registration from the server. */
export async function disablePush(): Promise<void> {
  const sub = await (await registration()).pushManager.getSubscription();
  if (!sub) return;
  const mine = (await serverSubscriptions()).filter((s) => s.endpoint === sub.endpoint);
  for (const s of mine) {
    const response = await call("DELETE", `/api/notifications/push-subscriptions/${s.id}`);
    if (!response.ok && response.status !== 404) await json(response);
  }
  await sub.unsubscribe();
}
