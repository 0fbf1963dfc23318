/**
 * Applying task changes — our own optimistic ones, server answers and live
 * pushes — to the TanStack Query cache. A snapshot never replaces a newer one
 * (higher `version`), so a late or replayed event cannot roll a task back.
 */
import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type { Task, TaskPage } from "../api/client";
import { needsServerPlacement, taskMatches, type ListParams } from "./params";

export type TaskPages = InfiniteData<TaskPage, number>;

export const taskListKey = (scope: string, params: ListParams) => ["tasks", scope, params] as const;
export const taskKey = (id: string) => ["task", id] as const;

function mapPages(data: TaskPages, fn: (tasks: Task[]) => Task[]): TaskPages {
  return { ...data, pages: data.pages.map((page) => ({ ...page, results: fn(page.results) })) };
}

export function allTasks(data: TaskPages | undefined): Task[] {
  return data?.pages.flatMap((p) => p.results) ?? [];
}

function newer(incoming: Task, existing: Task | undefined): boolean {
  return !existing || incoming.version >= existing.version || existing.id.startsWith("tmp-");
}

/** Put a task snapshot everywhere it belongs. `replaces` swaps out a temporary id. */
export function upsertTask(qc: QueryClient, task: Task, options: { replaces?: string; created?: boolean } = {}): void {
  const previous = qc.getQueryData<Task>(taskKey(task.id));
  if (!newer(task, previous)) return;
  qc.setQueryData(taskKey(task.id), task);
  for (const query of qc.getQueryCache().findAll({ queryKey: ["tasks"] })) {
    const params = (query.queryKey[2] ?? {}) as ListParams;
    const data = query.state.data as TaskPages | undefined;
    if (!data) continue;
    const ids = new Set([task.id, options.replaces].filter(Boolean) as string[]);
    const present = allTasks(data).find((t) => ids.has(t.id));
    if (present && !newer(task, present)) continue;
    const matches = taskMatches(task, params);
    if (present) {
      // The first copy (the temporary one, or the push that beat the answer) becomes the task; others go.
      let placed = !matches;
      qc.setQueryData<TaskPages>(query.queryKey, mapPages(data, (tasks) =>
        tasks.flatMap((t) => {
          if (!ids.has(t.id)) return [t];
          if (placed) return [];
          placed = true;
          return [task];
        }),
      ));
    } else if (matches && (needsServerPlacement(params) || !options.created)) {
      // Where it goes is the server's call (a search, a date range, a reopened task's slot).
      void qc.invalidateQueries({ queryKey: query.queryKey, exact: true });
    } else if (matches) {
      // Manual order: new tasks go to the end (docs/tasks.md).
      qc.setQueryData<TaskPages>(query.queryKey, {
        ...data,
        pages: data.pages.map((page, i) =>
          i === data.pages.length - 1 ? { ...page, count: page.count + 1, results: [...page.results, task] } : page,
        ),
      });
    }
  }
}

export function removeTask(qc: QueryClient, id: string): Task | undefined {
  let removed: Task | undefined;
  for (const query of qc.getQueryCache().findAll({ queryKey: ["tasks"] })) {
    const data = query.state.data as TaskPages | undefined;
    if (!data) continue;
    const hit = allTasks(data).find((t) => t.id === id);
    if (!hit) continue;
    removed ??= hit;
    qc.setQueryData<TaskPages>(query.queryKey, {
      ...data,
      pages: data.pages.map((page) => ({
        ...page,
        count: page.results.some((t) => t.id === id) ? Math.max(0, page.count - 1) : page.count,
        results: page.results.filter((t) => t.id !== id),
      })),
    });
  }
  qc.removeQueries({ queryKey: taskKey(id), exact: true });
  return removed;
}

/**
 * A manual reorder: the listed tasks take the slots they already occupy, in
 * the order given; everything else stays put (the server's rule).
 */
export function reorderList(tasks: Task[], ids: string[]): Task[] {
  const wanted = new Set(ids);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const queue = ids.filter((id) => byId.has(id)).map((id) => byId.get(id)!);
  if (queue.length === 0) return tasks;
  let next = 0;
  return tasks.map((t) => (wanted.has(t.id) && next < queue.length ? queue[next++] : t));
}

export function reorderTasks(qc: QueryClient, ids: string[]): void {
  for (const query of qc.getQueryCache().findAll({ queryKey: ["tasks"] })) {
    const params = (query.queryKey[2] ?? {}) as ListParams;
    const data = query.state.data as TaskPages | undefined;
    if (!data || needsServerPlacement(params)) continue;
    const flat = reorderList(allTasks(data), ids);
    let offset = 0;
    qc.setQueryData<TaskPages>(query.queryKey, {
      ...data,
      pages: data.pages.map((page) => {
        const results = flat.slice(offset, offset + page.results.length);
        offset += page.results.length;
        return { ...page, results };
      }),
    });
  }
}

export function findTask(qc: QueryClient, id: string): Task | undefined {
  const direct = qc.getQueryData<Task>(taskKey(id));
  if (direct) return direct;
  for (const query of qc.getQueryCache().findAll({ queryKey: ["tasks"] })) {
    const hit = allTasks(query.state.data as TaskPages | undefined).find((t) => t.id === id);
    if (hit) return hit;
  }
  return undefined;
}
