import { describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";
import type { Task } from "../../src/api/client";
import { allTasks, removeTask, reorderList, taskListKey, upsertTask, type TaskPages } from "../../src/tasks/cache";
import { setInboxProjectId } from "../../src/tasks/params";

function task(id: string, extra: Partial<Task> = {}): Task {
  return {
    id, title: id, description: "", is_completed: false, completed_at: null, due_date: null, due_at: null, remind_at: null,
    remind_offset_minutes: null, project_id: null, section_id: null, parent_id: null,
    is_recurring: false, recurrence_rule: null, priority: "medium", tags: [], position: 0, version: 1,
    created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", series_id: null, occurrence_at: null, is_skipped: false, ...extra,
  };
}

function seed(qc: QueryClient, params: object, tasks: Task[]) {
  const key = taskListKey("inbox", params);
  qc.setQueryData<TaskPages>(key, { pageParams: [1], pages: [{ count: tasks.length, next: null, previous: null, results: tasks }] });
  return () => allTasks(qc.getQueryData<TaskPages>(key)).map((t) => `${t.id}@${t.version}${t.is_completed ? "✓" : ""}`);
}

describe("task cache", () => {
  it("replaces a task with a newer snapshot and never with an older one", () => {
    const qc = new QueryClient();
    const list = seed(qc, { status: "all" }, [task("a", { version: 3 })]);
    upsertTask(qc, task("a", { version: 2, title: "old" }));
    expect(list()).toEqual(["a@3"]);
    upsertTask(qc, task("a", { version: 4 }));
    expect(list()).toEqual(["a@4"]);
  });

  it("takes a completed task out of an active list and appends a created one", () => {
    const qc = new QueryClient();
    const list = seed(qc, { status: "active" }, [task("a"), task("b")]);
    upsertTask(qc, task("a", { version: 2, is_completed: true }));
    upsertTask(qc, task("c"), { created: true });
    expect(list()).toEqual(["b@1", "c@1"]);
  });

  it("takes a skipped occurrence out of an active list", () => {
    const qc = new QueryClient();
    const list = seed(qc, { status: "active" }, [task("a", { series_id: "s" }), task("b")]);
    upsertTask(qc, task("a", { version: 2, series_id: "s", is_skipped: true }));
    expect(list()).toEqual(["b@1"]);
  });

  it("takes a task moved to another project out of the Inbox, and out of its old project", () => {
    const qc = new QueryClient();
    setInboxProjectId("inbox-id");
    const inbox = seed(qc, { status: "active", project: "inbox" }, [task("a", { project_id: "inbox-id" }), task("b", { project_id: "inbox-id" })]);
    upsertTask(qc, task("a", { version: 2, project_id: "home" }));
    expect(inbox()).toEqual(["b@1"]);
    setInboxProjectId(null);
  });

  it("swaps a temporary task for the server's one in place", () => {
    const qc = new QueryClient();
    const list = seed(qc, { status: "active" }, [task("a"), task("tmp-1", { version: 0 })]);
    upsertTask(qc, task("real", { version: 1 }), { replaces: "tmp-1", created: true });
    expect(list()).toEqual(["a@1", "real@1"]);
  });

  it("removes a deleted task and answers it (for undo)", () => {
    const qc = new QueryClient();
    const list = seed(qc, {}, [task("a"), task("b")]);
    expect(removeTask(qc, "a")?.id).toBe("a");
    expect(list()).toEqual(["b@1"]);
  });

  it("reorders like the server: listed tasks take the slots they occupy, others stay", () => {
    const tasks = ["a", "b", "c", "d", "e"].map((id) => task(id));
    expect(reorderList(tasks, ["d", "b"]).map((t) => t.id)).toEqual(["a", "d", "c", "b", "e"]);
    expect(reorderList(tasks, ["c", "b", "a"]).map((t) => t.id)).toEqual(["c", "b", "a", "d", "e"]);
  });
});

describe("task cache, races", () => {
  it("keeps one row when the push of our create beats its HTTP answer", () => {
    const qc = new QueryClient();
    const list = seed(qc, { status: "active" }, [task("tmp-1", { version: 0 })]);
    upsertTask(qc, task("real"), { created: true }); // the push, not yet known as ours
    upsertTask(qc, task("real"), { replaces: "tmp-1", created: true }); // the answer
    expect(list()).toEqual(["real@1"]);
  });
});
