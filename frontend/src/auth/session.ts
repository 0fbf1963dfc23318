/**
 * The signed-in session: an access + refresh token pair kept in localStorage so
 * it survives reloads and is shared by every tab.
 *
 * Refresh tokens rotate (each works once), so two tabs refreshing at the same
 * moment would make one of them present a revoked token and be logged out.
 * Refreshes therefore run under a Web Lock shared by all tabs, and re-read the
 * stored pair inside the lock: if another tab already rotated it, its result
 * is used instead of refreshing again.
 */
import { ApiError, NetworkError } from "../api/errors";

const STORAGE_KEY = "taskbeat.session";
const EXPIRY_MARGIN_MS = 30_000;

export interface Session {
  access: string;
  refresh: string;
  userId: number;
  username: string;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(session: Session | null): void {
  for (const listener of listeners) listener(session);
}

export function decodeJwt(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  try {
    return JSON.parse(atob(padded)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function tokenExpiresAt(token: string): number {
  const exp = decodeJwt(token).exp;
  return typeof exp === "number" ? exp * 1000 : 0;
}

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else localStorage.removeItem(STORAGE_KEY);
  emit(session);
}

// Another tab logged in, out or rotated the pair.
if (typeof window !== "undefined") {
  window.addEventListener("storage", (event) => {
    if (event.key === STORAGE_KEY) emit(loadSession());
  });
}

function sessionFromPair(access: string, refresh: string, username?: string): Session {
  const claims = decodeJwt(access);
  return {
    access,
    refresh,
    userId: Number(claims.user_id),
    username: username ?? loadSession()?.username ?? "",
  };
}

async function postJson(path: string, body: unknown): Promise<Response> {
  try {
    return await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new NetworkError(error);
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export async function login(username: string, password: string): Promise<Session> {
  const response = await postJson("/api/auth/login", { username, password });
  const body = await readJson(response);
  if (!response.ok) throw new ApiError(response.status, body);
  const pair = body as { access: string; refresh: string };
  const session = sessionFromPair(pair.access, pair.refresh, username);
  saveSession(session);
  return session;
}

/** A fresh pair from the server (e.g. after a password change, which revokes every other refresh token). */
export function adoptTokens(access: string, refresh: string): void {
  saveSession(sessionFromPair(access, refresh));
}

export async function register(input: {
  username: string;
  email: string;
  password: string;
  timezone: string;
}): Promise<void> {
  const response = await postJson("/api/auth/register", input);
  if (!response.ok) throw new ApiError(response.status, await readJson(response));
}

export async function logout(): Promise<void> {
  const session = loadSession();
  saveSession(null);
  if (!session) return;
  try {
    await postJson("/api/auth/logout", { refresh: session.refresh });
  } catch {
    // Offline: the refresh token simply expires; this device has forgotten it.
  }
}

async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request("taskbeat-token-refresh", fn);
  }
  return fn();
}

let inflight: Promise<Session | null> | null = null;

/**
 * Rotate the token pair. Resolves to null (and signs out) when the server
 * refuses the refresh token (revoked, expired, user deactivated); throws
 * NetworkError when offline, keeping the session.
 */
export function refreshSession(staleAccess?: string): Promise<Session | null> {
  inflight ??= withRefreshLock(async () => {
    const current = loadSession();
    if (!current) return null;
    if (staleAccess && current.access !== staleAccess && tokenExpiresAt(current.access) > Date.now() + EXPIRY_MARGIN_MS) {
      return current; // another tab refreshed while we waited for the lock
    }
    const response = await postJson("/api/auth/refresh", { refresh: current.refresh });
    if (response.status === 401 || response.status === 400) {
      saveSession(null);
      return null;
    }
    const body = await readJson(response);
    if (!response.ok) throw new ApiError(response.status, body);
    const pair = body as { access: string; refresh: string };
    const next = sessionFromPair(pair.access, pair.refresh, current.username);
    saveSession(next);
    return next;
  }).finally(() => {
    inflight = null;
  });
  return inflight;
}

/** A usable access token: the stored one while it is fresh, else a refreshed one. */
export async function getAccessToken(): Promise<string | null> {
  const session = loadSession();
  if (!session) return null;
  if (tokenExpiresAt(session.access) > Date.now() + EXPIRY_MARGIN_MS) return session.access;
  const next = await refreshSession(session.access);
  return next?.access ?? null;
}
