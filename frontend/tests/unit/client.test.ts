import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { authFetch } from "../../src/api/client";
import { ApiError, NetworkError } from "../../src/api/errors";
import { loadSession, saveSession } from "../../src/auth/session";

function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "RS256" })}.${enc(claims)}.sig`;
}
const future = () => Math.floor(Date.now() / 1000) + 900;

describe("authFetch", () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => vi.unstubAllGlobals());

  it("sends the bearer token and an X-Request-ID", async () => {
    saveSession({ access: jwt({ user_id: 1, exp: future() }), refresh: "r1", userId: 1, username: "a" });
    const seen: Request[] = [];
    vi.stubGlobal("fetch", async (r: Request) => (seen.push(r), new Response("{}", { status: 200 })));
    await authFetch(new Request("http://x/api/me"));
    expect(seen[0].headers.get("Authorization")).toMatch(/^Bearer /);
    expect(seen[0].headers.get("X-Request-ID")).toMatch(/[0-9a-f-]{36}/);
  });

  it("refreshes once on 401 and retries with the new token", async () => {
    const old = jwt({ user_id: 1, exp: future() });
    const fresh = jwt({ user_id: 1, exp: future() + 1 });
    saveSession({ access: old, refresh: "r1", userId: 1, username: "a" });
    const calls: string[] = [];
    vi.stubGlobal("fetch", async (input: Request | string, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input.url;
      calls.push(url);
      if (url.endsWith("/api/auth/refresh")) {
        expect(JSON.parse(String(init?.body))).toEqual({ refresh: "r1" });
        return new Response(JSON.stringify({ access: fresh, refresh: "r2" }), { status: 200 });
      }
      const auth = (input as Request).headers.get("Authorization");
      return new Response("{}", { status: auth === `Bearer ${fresh}` ? 200 : 401 });
    });
    const response = await authFetch(new Request("http://x/api/tasks"));
    expect(response.status).toBe(200);
    expect(calls.filter((c) => c.endsWith("/api/auth/refresh"))).toHaveLength(1);
    expect(loadSession()?.refresh).toBe("r2");
  });

  it("signs out when the refresh token is revoked", async () => {
    saveSession({ access: jwt({ user_id: 1, exp: future() }), refresh: "revoked", userId: 1, username: "a" });
    vi.stubGlobal("fetch", async (input: Request | string) => {
      const url = typeof input === "string" ? input : input.url;
      return url.endsWith("/api/auth/refresh")
        ? new Response(JSON.stringify({ error: { code: "token_not_valid", message: "Token is blacklisted" } }), { status: 401 })
        : new Response("{}", { status: 401 });
    });
    const response = await authFetch(new Request("http://x/api/tasks"));
    expect(response.status).toBe(401);
    expect(loadSession()).toBeNull();
  });

  it("turns a failed fetch into a NetworkError", async () => {
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(authFetch(new Request("http://x/api/tasks"))).rejects.toBeInstanceOf(NetworkError);
  });
});

describe("ApiError", () => {
  it("reads the API's one error shape", () => {
    const e = new ApiError(400, { error: { code: "validation_error", message: "Invalid input.", fields: { priority: ["bad choice"] } } });
    expect([e.status, e.code, e.describe()]).toEqual([400, "validation_error", "bad choice (priority)"]);
  });
});
