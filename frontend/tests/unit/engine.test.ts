import { describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";
import type { Task } from "../../src/api/client";
import { toasts } from "../../src/lib/store";
import { allTasks, taskListKey, type TaskPages } from "../../src/tasks/cache";
import { Engine } from "../../src/tasks/engine";

function task(id: string): Task {
  return {
    id, title: id, description: "", is_completed: false, completed_at: null, due_date: null, due_at: null, remind_at: null,
    remind_offset_minutes: null, project_id: null, section_id: null, parent_id: null,
    is_recurring: false, recurrence_rule: null, priority: "medium", tags: [], position: 0, version: 1,
    created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", series_id: null, occurrence_at: null, is_skipped: false,
  };
}

describe("Engine.remove", () => {
  it("offers Undo before the delete reaches IndexedDB, and an early Undo still cancels it", async () => {
    const qc = new QueryClient();
    const key = taskListKey("inbox", { status: "all" });
    qc.setQueryData<TaskPages>(key, { pageParams: [1], pages: [{ count: 1, next: null, previous: null, results: [task("a")] }] });
    const ids = () => allTasks(qc.getQueryData<TaskPages>(key)).map((t) => t.id);
    const engine = new Engine(4242, qc); // not started: no socket, no flush timer
    toasts.set(() => []);

    const removing = engine.remove(task("a"));
    // Synchronously after the call: the row is gone and the toast is up.
    expect(ids()).toEqual([]);
    const undo = toasts.get().at(-1)?.action;
    expect(undo?.label).toBe("Undo");
    undo!.run();
    await removing;
    await expect.poll(() => ids()).toEqual(["a"]);
    await expect.poll(() => engine.pending.get().length).toBe(0);
  });
});

describe("Engine while a delete waits out its undo window", () => {
  it("does not bring the row back for an earlier write's answer or push, and Undo still restores it", async () => {
    const qc = new QueryClient();
    const key = taskListKey("inbox", { status: "all" });
    qc.setQueryData<TaskPages>(key, { pageParams: [1], pages: [{ count: 1, next: null, previous: null, results: [task("b")] }] });
    const ids = () => allTasks(qc.getQueryData<TaskPages>(key)).map((t) => t.id);
    const engine = new Engine(4343, qc);
    const internals = engine as unknown as {
      applied(entry: object, data: unknown, headers: Headers): void;
      onEvent(event: object): void;
    };
    toasts.set(() => []);

    await engine.remove(task("b"));
    const saved = { ...task("b"), version: 2, title: "b (saved)" };
    // The edit saved just before the delete: its HTTP answer, then its push.
    internals.applied({ key: "edit", method: "PATCH", path: "/api/tasks/b", label: "Edit", taskRef: "b", order: 1, attempts: 0, createdAt: "" }, saved, new Headers());
    internals.onEvent({ type: "task.updated", seq: 7, data: { task: saved } });
    expect(ids()).toEqual([]);

    toasts.get().at(-1)!.action!.run();
    await expect.poll(() => ids()).toEqual(["b"]);
    // Once undone, pushes apply again.
    internals.onEvent({ type: "task.updated", seq: 8, data: { task: { ...saved, version: 3, title: "b again" } } });
    expect(allTasks(qc.getQueryData<TaskPages>(key)).map((t) => t.title)).toEqual(["b again"]);
  });
});
