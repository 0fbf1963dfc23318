/** The list views and their GET /api/tasks parameters. */
import type { Task } from "../api/client";

export interface ListParams {
  q?: string;
  status?: "all" | "active" | "completed";
  priority?: string; // "high,medium"
  tags?: string; // "work,home"
  tags_mode?: "all" | "any";
  due_after?: string;
  due_before?: string;
  is_recurring?: "true" | "false";
  sort_by?: "due_at" | "priority" | "created_at" | "title" | "position";
  sort_order?: "asc" | "desc";
  project?: string; // a project id or "inbox"
  parent?: string; // a task id or "none"
}

export function cleanParams(params: ListParams): ListParams {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") out[key] = String(value);
  return out as ListParams;
}

export interface View {
  id: string;
  title: string;
  path: string;
  params: () => ListParams;
  /** Served by GET /api/views/<agenda> (server-side grouping and order). */
  agenda?: "today" | "upcoming" | "overdue";
}

// Today / Upcoming / Overdue are the server's views: "today" is the profile's local day.
export const VIEWS: View[] = [
  { id: "inbox", title: "Inbox", path: "/", params: () => ({ status: "active", project: "inbox", parent: "none" }) },
  { id: "today", title: "Today", path: "/today", params: () => ({}), agenda: "today" },
  { id: "upcoming", title: "Upcoming", path: "/upcoming", params: () => ({}), agenda: "upcoming" },
  { id: "overdue", title: "Overdue", path: "/overdue", params: () => ({}), agenda: "overdue" },
  { id: "completed", title: "Completed", path: "/completed", params: () => ({ status: "completed", sort_by: "created_at" }) },
];

/** The Inbox's project id (GET /api/projects, is_inbox), once known: the Inbox list is that project's. */
let inboxId: string | null = null;
export function setInboxProjectId(id: string | null | undefined): void {
  inboxId = id ?? null;
}

/** Could this task belong in a list with these parameters? (For placing a live change without a refetch.) */
export function taskMatches(task: Task, params: ListParams): boolean {
  // "active" is the server's open tasks: skipped occurrences are not among them.
  if (params.status === "active" && (task.is_completed || task.is_skipped)) return false;
  if (params.status === "completed" && !task.is_completed) return false;
  if (params.priority && !params.priority.split(",").includes(task.priority)) return false;
  if (params.is_recurring && String(task.is_recurring) !== params.is_recurring) return false;
  if (params.parent === "none" && task.parent_id) return false;
  if (params.parent && params.parent !== "none" && task.parent_id !== params.parent) return false;
  if (params.project === "inbox" && inboxId && task.project_id && task.project_id !== inboxId) return false;
  if (params.project && params.project !== "inbox" && task.project_id !== params.project) return false;
  if (params.tags) {
    const wanted = params.tags.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
    const have = new Set(task.tags.map((t) => t.toLowerCase()));
    const ok = params.tags_mode === "any" ? wanted.some((t) => have.has(t)) : wanted.every((t) => have.has(t));
    if (!ok) return false;
  }
  return true;
}

/** Lists whose membership or order the client cannot decide alone (search, date ranges, non-manual sort). */
export function needsServerPlacement(params: ListParams): boolean {
  return Boolean(params.q || params.due_after || params.due_before || (params.sort_by && params.sort_by !== "position"));
}
