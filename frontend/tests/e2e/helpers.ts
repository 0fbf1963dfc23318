import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import { mkdirSync, writeFileSync } from "node:fs";

export const SCREENS = "test-results/screens";
mkdirSync(SCREENS, { recursive: true });

/** Zero serious or critical axe violations on the page as it is now. */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const summary = bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  expect(summary, `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: `${SCREENS}/${name}.png`, fullPage: false });
}

export function uniqueUser(prefix: string): { username: string; email: string; password: string } {
  const id = `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  return { username: id, email: `${id}@example.com`, password: "correct-Horse-battery-9" };
}

export async function register(page: Page, user: { username: string; email: string; password: string }, zone = "Europe/Berlin"): Promise<void> {
  await page.goto("/register");
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("E-mail").fill(user.email);
  await page.getByLabel("Password").fill(user.password);
  await page.getByLabel("Time zone").fill(zone);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Inbox" })).toBeVisible();
}

export async function login(page: Page, user: { username: string; password: string }): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Username or e-mail").fill(user.username);
  await page.getByLabel("Password").fill(user.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("heading", { name: "Inbox" })).toBeVisible();
}

export async function live(page: Page): Promise<void> {
  await expect(page.getByTestId("sync-status")).toHaveAttribute("data-status", "connected");
}

export function record(name: string, value: unknown): void {
  mkdirSync("test-results", { recursive: true });
  writeFileSync(`test-results/${name}.json`, JSON.stringify(value, null, 2));
}

export function p95(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
}

/** Call the API as the signed-in user of the page (its stored access token). */
export async function apiCall<T = unknown>(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const session = JSON.parse(localStorage.getItem("taskbeat.session")!);
      const response = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${session.access}`, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let data: unknown = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch {
        data = text; // not JSON (e.g. a 404 page for an endpoint this server lacks)
      }
      return { status: response.status, data };
    },
    { method, path, body },
  ) as Promise<{ status: number; data: T }>;
}

export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}
