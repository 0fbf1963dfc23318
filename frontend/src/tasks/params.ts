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
}

export function cleanParams(params: ListParams): ListParams {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") out[key] = String(value);
  return out as ListParams;
}

function localDate(offsetDays = 0, now = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + offsetDays);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export interface View {
  id: string;
  title: string;
  path: string;
  params: () => ListParams;
}

// Dates are the device's; the server reads date bounds in the profile's zone.
export const VIEWS: View[] = [
  { id: "inbox", title: "Inbox", path: "/", params: () => ({ status: "active" }) },
  { id: "today", title: "Today", path: "/today", params: () => ({ status: "active", due_before: localDate(0), sort_by: "due_at" }) },
  {
    id: "upcoming",
    title: "Upcoming",
    path: "/upcoming",
    params: () => ({ status: "active", due_after: localDate(1), due_before: localDate(14), sort_by: "due_at" }),
  },
  { id: "overdue", title: "Overdue", path: "/overdue", params: () => ({ status: "active", due_before: localDate(-1), sort_by: "due_at" }) },
  { id: "completed", title: "Completed", path: "/completed", params: () => ({ status: "completed", sort_by: "created_at" }) },
];

/** Could this task belong in a list with these parameters? (For placing a live change without a refetch.) */
export function taskMatches(task: Task, params: ListParams): boolean {
  if (params.status === "active" && task.is_completed) return false;
  if (params.status === "completed" && !task.is_completed) return false;
  if (params.priority && !params.priority.split(",").includes(task.priority)) return false;
  if (params.is_recurring && String(task.is_recurring) !== params.is_recurring) return false;
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
