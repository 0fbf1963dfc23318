import type { Task } from "../api/client";

const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const timeFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

export function formatDue(task: Pick<Task, "due_at" | "due_date">): string {
  if (task.due_at) return timeFmt.format(new Date(task.due_at));
  if (task.due_date) {
    const [y, m, d] = task.due_date.split("-").map(Number);
    return dateFmt.format(new Date(y, m - 1, d));
  }
  return "";
}

export function isOverdue(task: Pick<Task, "due_at" | "due_date">, now = new Date()): boolean {
  if (task.due_at) return new Date(task.due_at) < now;
  if (task.due_date) {
    const [y, m, d] = task.due_date.split("-").map(Number);
    return new Date(y, m - 1, d + 1) <= now;
  }
  return false;
}

/** An ISO instant → the value of an <input type="datetime-local"> in the device's zone. */
export function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export function formatInstant(iso: string): string {
  return timeFmt.format(new Date(iso));
}
