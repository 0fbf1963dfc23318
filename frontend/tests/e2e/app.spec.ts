import { expect, test, type Page } from "@playwright/test";
import { expectAccessible, live, login, p95, record, register, uniqueUser } from "./helpers";


const row = (page: Page, title: string) => page.getByTestId("task-row").filter({ hasText: title });

async function serverTasks(page: Page, query: string): Promise<{ title: string; is_completed: boolean }[]> {
  return page.evaluate(async (q) => {
    const session = JSON.parse(localStorage.getItem("taskbeat.session")!);
    const response = await fetch(`/api/tasks?status=all&limit=100&q=${encodeURIComponent(q)}`, { headers: { Authorization: `Bearer ${session.access}` } });
    return (await response.json()).results;
  }, query);
}

/** Whether the query cache persisted in IndexedDB mentions `text` (it is written at most once a second). */
async function persistedCacheHas(page: Page, text: string): Promise<boolean> {
  return page.evaluate(async (needle) => {
    const userId = JSON.parse(localStorage.getItem("taskbeat.session")!).userId;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(`taskbeat-user-${userId}`);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const value = await new Promise<unknown>((resolve) => {
      const request = db.transaction("cache").objectStore("cache").get("REACT_QUERY_OFFLINE_CACHE");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null);
    });
    db.close();
    return typeof value === "string" && value.includes(needle);
  }, text);
}

test("register, quick add, complete, live in a second browser, offline writes replayed once", async ({ browser }) => {
  const user = uniqueUser("e2e");
  const contextA = await browser.newContext();
  const a = await contextA.newPage();

  await a.goto("/register");
  await expectAccessible(a, "register");
  await register(a, user);
  await live(a);
  await expectAccessible(a, "inbox-empty");

  // Quick add: the server's parse is highlighted as you type, Enter creates it.
  const quick = a.getByLabel("Add a task");
  await quick.fill("Buy milk tomorrow at 5pm !high #home");
  const preview = a.getByTestId("quick-preview");
  await expect(preview.locator("mark[data-kind='date']")).toHaveText("tomorrow");
  await expect(preview.locator("mark[data-kind='priority']")).toHaveText("!high");
  await expect(preview.locator("mark[data-kind='tag']")).toHaveText("#home");
  await expect(preview).toContainText("Buy milk");
  await expectAccessible(a, "quick-add-preview");
  await quick.press("Enter");
  await expect(row(a, "Buy milk")).toBeVisible();
  await expect(row(a, "Buy milk")).toContainText("high");
  await expect(a.getByTestId("sync-status")).toHaveAttribute("data-pending", "0");

  // A second browser signed in as the same person.
  const contextB = await browser.newContext();
  const b = await contextB.newPage();
  await login(b, user);
  await live(b);
  await expect(row(b, "Buy milk")).toBeVisible();

  // Complete in A: B's Inbox (open tasks) drops it live, without a reload.
  await row(a, "Buy milk").getByRole("checkbox").click();
  await expect(row(b, "Buy milk")).toHaveCount(0);
  await expect(row(a, "Buy milk")).toHaveCount(0);

  // Change propagation A → B, measured in the pages: from the Enter keydown in
  // A to the row appearing in B's DOM (both pages read the same machine clock).
  await a.evaluate(() => {
    const w = window as unknown as { __sent: Record<string, number> };
    w.__sent = {};
    document.getElementById("quick-add-input")!.addEventListener("keydown", (e) => {
      if ((e as KeyboardEvent).key === "Enter") w.__sent[(e.target as HTMLInputElement).value] = Date.now();
    }, { capture: true });
  });
  await b.evaluate(() => {
    const w = window as unknown as { __seen: Record<string, number> };
    w.__seen = {};
    new MutationObserver(() => {
      for (const el of document.querySelectorAll("[data-testid='task-row'] .task-title")) {
        const title = el.textContent ?? "";
        if (!(title in w.__seen)) w.__seen[title] = Date.now();
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const title = `Sync probe ${i}`;
    await quick.fill(title);
    await quick.press("Enter");
    await expect(row(b, title)).toBeVisible();
    const sent = await a.evaluate((t) => (window as unknown as { __sent: Record<string, number> }).__sent[t], title);
    const seen = await b.evaluate((t) => (window as unknown as { __seen: Record<string, number> }).__seen[t], title);
    latencies.push(seen - sent);
  }
  record("live-sync", { samples_ms: latencies, p95_ms: p95(latencies) });

  // Reorder with the keyboard (dnd-kit's keyboard sensor): the other browser follows.
  await row(a, "Sync probe 1").getByRole("button", { name: "Move “Sync probe 1”" }).focus();
  // Each step waits for its screen-reader announcement (the sensor listens from the next tick).
  await a.keyboard.press("Space");
  await expect(a.getByText("“Sync probe 1” is over position 2.")).toBeAttached();
  await a.keyboard.press("ArrowUp");
  await expect(a.getByText("“Sync probe 1” is over position 1.")).toBeAttached();
  await a.keyboard.press("Space");
  await expect(a.getByText("Dropped “Sync probe 1” at position 1.")).toBeAttached();
  await expect(a.getByTestId("task-row").first()).toContainText("Sync probe 1");
  await expect(b.getByTestId("task-row").first()).toContainText("Sync probe 1");
  await expect(b.getByTestId("task-row").nth(1)).toContainText("Sync probe 0");

  // Offline: writes queue on the device, the state is shown, and they replay once.
  await contextA.setOffline(true);
  await expect(a.getByTestId("sync-status")).toHaveAttribute("data-status", "offline");
  await quick.fill("Written offline #trip");
  await quick.press("Enter");
  await expect(row(a, "Written offline")).toContainText("not synced");
  await row(a, "Sync probe 0").getByRole("checkbox").click();
  await expect(a.getByTestId("sync-status")).toHaveAttribute("data-pending", "2");
  await expectAccessible(a, "offline-pending");
  // Reload while offline: the service worker serves the shell, IndexedDB the
  // cached list and the queued writes.
  await expect.poll(() => persistedCacheHas(a, "Written offline")).toBe(true);
  await a.reload();
  await expect(a.getByTestId("sync-status")).toHaveAttribute("data-pending", "2");
  await expect(row(a, "Written offline")).toBeVisible();
  await contextA.setOffline(false);
  await expect(a.getByTestId("sync-status")).toHaveAttribute("data-pending", "0");
  await expect(row(b, "Written offline")).toBeVisible();
  await expect(row(b, "Sync probe 0")).toHaveCount(0);
  const offline = await serverTasks(a, "offline");
  expect(offline.map((t) => t.title)).toEqual(["Written offline"]);
  const probe = (await serverTasks(a, "probe")).filter((t) => t.title === "Sync probe 0");
  expect(probe).toEqual([expect.objectContaining({ is_completed: true })]);

  await contextA.close();
  await contextB.close();
});

test("edit with a recurrence preview, delete with undo, keyboard and palette, inbox and settings pages", async ({ browser }) => {
  const user = uniqueUser("kb");
  const context = await browser.newContext();
  const page = await context.newPage();
  await register(page, user);
  await live(page);

  // Keyboard only: q focuses quick add.
  await page.keyboard.press("q");
  await expect(page.getByLabel("Add a task")).toBeFocused();
  await page.keyboard.type("Water plants");
  await page.keyboard.press("Enter");
  await expect(row(page, "Water plants")).toBeVisible();
  await expect(row(page, "Water plants")).not.toHaveAttribute("data-task-id", /^tmp-/);

  // j focuses the first task, e opens the editor.
  await page.getByLabel("Add a task").blur();
  await page.keyboard.press("j");
  await page.keyboard.press("e");
  const dialog = page.getByRole("dialog", { name: "Edit task" });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Repeat").selectOption({ label: "Every weekday" });
  await expect(dialog.getByTestId("recurrence-preview")).toContainText("every weekday");
  await expect(dialog.getByTestId("recurrence-preview").locator("li")).toHaveCount(5);
  await dialog.getByLabel("Priority").selectOption("low");
  await dialog.getByLabel("New subtask").fill("Buy a watering can");
  await dialog.getByRole("button", { name: "Add subtask" }).click();
  await expect(dialog.getByTestId("subtask")).toContainText("Buy a watering can");
  await expectAccessible(page, "editor");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(row(page, "Water plants")).toContainText("repeats");
  await expect(row(page, "Water plants")).toContainText("low");

  // Delete, then undo: nothing reaches the server.
  await row(page, "Water plants").getByRole("button", { name: /Delete/ }).click();
  await expect(row(page, "Water plants")).toHaveCount(0);
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(row(page, "Water plants")).toBeVisible();

  // A project: created from the sidebar, opened, listed with its count.
  page.once("dialog", (d) => void d.accept("Garden"));
  await page.getByRole("button", { name: "+ New project" }).click();
  await expect(page.getByRole("heading", { name: "Garden" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Lists" }).getByRole("link", { name: /Garden/ })).toBeVisible();
  await expectAccessible(page, "project");

  // The command palette (Ctrl+K) navigates.
  await page.keyboard.press("Control+k");
  const palette = page.getByRole("dialog", { name: "Command palette" });
  await expect(palette).toBeVisible();
  await expectAccessible(page, "palette");
  await page.keyboard.type("Go to Settings");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  await expectAccessible(page, "settings");
  // Change the password: this session keeps going with the fresh pair.
  await page.getByLabel("Current password").fill(user.password);
  await page.getByLabel("New password").fill("another-Horse-battery-7");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Password changed" })).toBeVisible();
  user.password = "another-Horse-battery-7";

  // The assistant answers in the chat, and the task it made shows in the list.
  await page.keyboard.press("g");
  await page.keyboard.press("a");
  await expect(page.getByRole("heading", { name: "Assistant" })).toBeVisible();
  await page.getByLabel("Message the assistant").fill("Remind me to call mom tomorrow at 6pm");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("chat").locator(".chat-assistant")).toHaveCount(1);
  await expectAccessible(page, "assistant");
  await page.keyboard.press("g");
  await page.keyboard.press("y");
  await expect(page.getByTestId("activity")).toContainText("task.created");
  await expectAccessible(page, "activity");
  await page.keyboard.press("g");
  await page.keyboard.press("n");
  await expect(page.getByRole("heading", { name: "Notifications" })).toBeVisible();
  await expectAccessible(page, "notifications");

  // Narrow screens: the sidebar becomes a menu.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto("/");
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("link", { name: /^Today/ }).click();
  await expect(page.getByRole("heading", { name: "Today" })).toBeVisible();
  await expectAccessible(page, "today-mobile");

  // A session survives a reload.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Today" })).toBeVisible();

  // Log out, then back in with the new password.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { name: "Log in to Taskbeat" })).toBeVisible();
  await login(page, user);
  await expect(row(page, "Call mom")).toBeVisible();
  await context.close();
});

test("signed-out pages: log in errors, password reset request", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Username or e-mail").fill("nobody");
  await page.getByLabel("Password").fill("wrong-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Invalid username or password");
  await expectAccessible(page, "login-error");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("E-mail").fill("nobody@example.com");
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByRole("status").filter({ hasText: /link/i })).toBeVisible();
  await expectAccessible(page, "reset-password");
  await page.goto("/verify-email#token=not-a-token");
  await expect(page.getByRole("alert")).toBeVisible();
  await expectAccessible(page, "verify-email-bad-token");
});
