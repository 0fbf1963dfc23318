/**
 * Every date and time the app shows or accepts is in the profile's time zone
 * (GET /api/me → timezone), not the device's: the server reads "today", due
 * dates and recurrence in that zone, and a person travelling with a laptop
 * set to another zone must see the same times as on their phone.
 *
 * Written on Intl (the platform's own tz database) rather than a date
 * library: the conversions needed are two, and the initial-JS budget is tight.
 */
import type { Task } from "../api/client";
import { Store, useStore } from "./store";

export const deviceZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** The profile's zone; Shell sets it from /api/me (the persisted cache answers offline). */
export const profileZone = new Store<string>(deviceZone());

export function setProfileZone(zone: string | null | undefined): void {
  if (zone && zone !== profileZone.get() && isValidZone(zone)) profileZone.set(zone);
}

export const useZone = (): string => useStore(profileZone);

export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string, kind: "date" | "datetime" | "day" | "parts"): Intl.DateTimeFormat {
  const id = `${zone}|${kind}`;
  let f = formatters.get(id);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      kind === "parts"
        ? { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }
        : kind === "day"
          ? { weekday: "long", day: "numeric", month: "long" }
          : kind === "date"
            ? { weekday: "short", day: "numeric", month: "short" }
            : { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    f = new Intl.DateTimeFormat(kind === "parts" ? "en-US" : undefined, { ...options, timeZone: zone });
    formatters.set(id, f);
  }
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock fields of an instant in a zone. */
export function wallTime(instant: Date, zone: string): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone, "parts").formatToParts(instant)) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute, second: parts.second };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Minutes the zone is ahead of UTC at that instant. */
function offsetMinutes(instant: number, zone: string): number {
  const w = wallTime(new Date(instant), zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(instant / 1000) * 1000) / 60_000);
}

/** An ISO instant → the value of an <input type="datetime-local"> showing it in the zone. */
export function toZoneInput(iso: string | null, zone = profileZone.get()): string {
  if (!iso) return "";
  const w = wallTime(new Date(iso), zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/**
 * A wall time typed in the zone ("2030-01-07T09:00") → the ISO instant.
 * An ambiguous time (the hour repeated when clocks go back) is the earlier
 * instant; a time skipped when clocks go forward moves forward by the jump
 * (02:30 in Berlin's spring gap → 03:30), as the server's recurrence does.
 */
export function fromZoneInput(value: string, zone = profileZone.get()): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x ?? 0));
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  // The offsets in force a day either side: a zone changes offset at most once in between.
  const before = asUtc - offsetMinutes(asUtc - 86_400_000, zone) * 60_000;
  const after = asUtc - offsetMinutes(asUtc + 86_400_000, zone) * 60_000;
  const fits = (instant: number) => {
    const w = wallTime(new Date(instant), zone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) === asUtc;
  };
  const valid = [before, after].filter(fits);
  return new Date(valid.length ? Math.min(...valid) : before).toISOString();
}

/** "YYYY-MM-DD" of the instant in the zone. */
export function dateIn(instant: Date, zone = profileZone.get()): string {
  const w = wallTime(instant, zone);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/** A calendar date ("2030-01-07") as text; a date has no zone, so it is formatted as UTC midnight. */
export function formatDate(date: string, style: "short" | "long" = "short"): string {
  const [y, m, d] = date.split("-").map(Number);
  return formatter("UTC", style === "long" ? "day" : "date").format(new Date(Date.UTC(y, m - 1, d)));
}

export function formatInstant(iso: string, zone = profileZone.get()): string {
  return formatter(zone, "datetime").format(new Date(iso));
}

export function formatDue(task: Pick<Task, "due_at" | "due_date">, zone = profileZone.get()): string {
  if (task.due_at) return formatInstant(task.due_at, zone);
  if (task.due_date) return formatDate(task.due_date);
  return "";
}

export function isOverdue(task: Pick<Task, "due_at" | "due_date">, now = new Date(), zone = profileZone.get()): boolean {
  if (task.due_at) return new Date(task.due_at) < now;
  if (task.due_date) return task.due_date < dateIn(now, zone);
  return false;
}
