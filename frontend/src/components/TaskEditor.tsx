import { useEffect, useState, type FormEvent } from "react";
import * as Dialog from "@radix-ui/react-dialog";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Priority, type Reminder, type Task } from "../api/client";
import { ApiError } from "../api/errors";
import { formatDue, formatInstant, fromZoneInput, toZoneInput, useZone } from "../lib/dates";
import { toast, useStore } from "../lib/store";
import { findTask, taskKey, upsertTask } from "../tasks/cache";
import { useEngine } from "../tasks/useEngine";
import { useProjects } from "./Shell";
import { useSections } from "../tasks/sections";

const PRESETS: { label: string; rule: string }[] = [
  { label: "Does not repeat", rule: "" },
  { label: "Every day", rule: "FREQ=DAILY" },
  { label: "Every weekday", rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR" },
  { label: "Every week", rule: "FREQ=WEEKLY" },
  { label: "Every other week", rule: "FREQ=WEEKLY;INTERVAL=2" },
  { label: "Every month", rule: "FREQ=MONTHLY" },
  { label: "Every year", rule: "FREQ=YEARLY" },
];

const key = () => ({ "Idempotency-Key": crypto.randomUUID() });

function RecurrencePreview({ rule, start, zone }: { rule: string; start: string | null; zone: string }) {
  const [debounced, setDebounced] = useState(rule);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(rule), 250);
    return () => clearTimeout(t);
  }, [rule]);
  const preview = useQuery({
    queryKey: ["preview", debounced, start],
    enabled: Boolean(debounced),
    retry: false,
    queryFn: async () => {
      const body: Record<string, unknown> = { rule: debounced, count: 5 };
      if (start) body.start = start;
      const result = await api.POST("/api/recurrence/preview", { body: body as never });
      const { data, error } = result;
      const status = (result as { response: Response }).response.status;
      if (error !== undefined || !data) throw new ApiError(status, error);
      return data;
    },
  });
  if (!rule) return null;
  if (preview.error instanceof ApiError) return <p className="field-error" role="alert">{preview.error.describe()}</p>;
  if (!preview.data) return <p className="muted small">Previewing…</p>;
  return (
    <div className="recurrence-preview" data-testid="recurrence-preview" aria-live="polite">
      <p>
        <strong>{preview.data.summary}</strong> — next:
      </p>
      <ol>
        {preview.data.occurrences.map((o) => (
          <li key={o}>{formatInstant(o, zone)}</li>
        ))}
      </ol>
    </div>
  );
}

function Reminders({ task, zone }: { task: Task; zone: string }) {
  const qc = useQueryClient();
  const reminders = useQuery({
    queryKey: ["reminders", task.id],
    enabled: !task.id.startsWith("tmp-"),
    queryFn: async () => unwrap(await api.GET("/api/tasks/{task_id}/reminders", { params: { path: { task_id: task.id }, query: { limit: 50 } as never } })).results,
  });
  const [offset, setOffset] = useState("15");
  const [at, setAt] = useState("");
  const refresh = () => qc.invalidateQueries({ queryKey: ["reminders", task.id] });
  const run = async (promise: Promise<{ error?: unknown; response: Response }>) => {
    const result = await promise;
    if (result.error || !result.response.ok) toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
    await refresh();
  };
  const add = (body: Record<string, unknown>) =>
    run(api.POST("/api/tasks/{task_id}/reminders", { params: { path: { task_id: task.id } }, body: body as never, headers: key() }));
  const act = (r: Reminder, action: "snooze" | "dismiss" | "delete") => {
    const path = { params: { path: { reminder_id: r.id } }, headers: key() };
    if (action === "snooze") return run(api.POST("/api/reminders/{reminder_id}/snooze", { ...path, body: { minutes: 10 } }));
    if (action === "dismiss") return run(api.POST("/api/reminders/{reminder_id}/dismiss", path));
    return run(api.DELETE("/api/reminders/{reminder_id}", path));
  };
  if (task.id.startsWith("tmp-")) return <p className="muted small">Reminders can be added once the task is synced.</p>;
  return (
    <section aria-labelledby="reminders-title" className="reminders">
      <h3 id="reminders-title">Reminders</h3>
      <ul>
        {(reminders.data ?? []).map((r) => (
          <li key={r.id} data-testid="reminder">
            <span>
              {formatInstant(r.fire_at, zone)} · {r.offset_minutes !== null ? `${r.offset_minutes} min before` : "at a time"} · {r.status}
            </span>
            {r.status === "pending" || r.status === "triggered" ? (
              <>
                <button type="button" className="link-button" onClick={() => void act(r, "snooze")}>
                  Snooze 10 min
                </button>
                <button type="button" className="link-button" onClick={() => void act(r, "dismiss")}>
                  Dismiss
                </button>
              </>
            ) : null}
            {r.status !== "cancelled" ? (
              <button type="button" className="link-button" onClick={() => void act(r, "delete")}>
                Remove
              </button>
            ) : null}
          </li>
        ))}
        {reminders.data?.length === 0 ? <li className="muted small">No reminders.</li> : null}
      </ul>
      <div className="reminder-add">
        {task.due_at ? (
          <span>
            <label htmlFor="reminder-offset">Minutes before due</label>
            <input id="reminder-offset" type="number" min={0} value={offset} onChange={(e) => setOffset(e.target.value)} />
            <button type="button" onClick={() => void add({ offset_minutes: Number(offset) })}>
              Add relative
            </button>
          </span>
        ) : null}
        <span>
          <label htmlFor="reminder-at">Remind at ({zone})</label>
          <input id="reminder-at" type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
          <button type="button" disabled={!at} onClick={() => void add({ remind_at: fromZoneInput(at, zone) })}>
            Add reminder
          </button>
        </span>
      </div>
    </section>
  );
}

function Subtasks({ task }: { task: Task }) {
  const engine = useEngine();
  const qc = useQueryClient();
  const [title, setTitle] = useState("");
  const children = useQuery({
    queryKey: ["tasks", `children-${task.id}`, { parent: task.id, status: "all", sort_by: "position" }],
    enabled: !task.id.startsWith("tmp-"),
    queryFn: async () => {
      const page = unwrap(
        await api.GET("/api/tasks", { params: { query: { parent: task.id, status: "all", sort_by: "position", limit: 100 } as never } }),
      );
      return { pageParams: [1], pages: [page] };
    },
  });
  const items = children.data?.pages[0]?.results ?? [];
  async function add(event: FormEvent) {
    event.preventDefault();
    event.stopPropagation();
    if (!title.trim()) return;
    const result = await api.POST("/api/tasks", { body: { title: title.trim(), parent_id: task.id } as never, headers: key() });
    if (!result.response.ok) toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
    setTitle("");
    await qc.invalidateQueries({ queryKey: ["tasks", `children-${task.id}`] });
  }
  if (task.id.startsWith("tmp-")) return null;
  return (
    <section aria-labelledby="subtasks-title" className="reminders">
      <h3 id="subtasks-title">Subtasks</h3>
      <ul>
        {items.map((child) => (
          <li key={child.id} data-testid="subtask">
            <label className="inline">
              <input type="checkbox" checked={child.is_completed} onChange={() => void engine.toggle(child)} /> {child.title}
            </label>
          </li>
        ))}
      </ul>
      <div className="reminder-add">
        <span>
          <label htmlFor="subtask-title">New subtask</label>
          <input id="subtask-title" value={title} onChange={(e) => setTitle(e.target.value)} onKeyDown={(e) => e.key === "Enter" && void add(e)} />
          <button type="button" onClick={(e) => void add(e)}>
            Add subtask
          </button>
        </span>
      </div>
    </section>
  );
}


type Scope = "this" | "future" | "all";
const SCOPE_LABELS: Record<Scope, string> = { this: "This occurrence", future: "This and future occurrences", all: "All occurrences" };

/** Which occurrences a change or a delete applies to (docs/recurrence.md). */
export function ScopeDialog({
  title,
  scopes,
  disabled = [],
  note,
  onPick,
  onCancel,
}: {
  title: string;
  scopes: Scope[];
  disabled?: Scope[];
  note?: string;
  onPick: (scope: Scope) => void;
  onCancel: () => void;
}) {
  const [choice, setChoice] = useState<Scope>(scopes.find((s) => !disabled.includes(s)) ?? scopes[0]);
  return (
    <Dialog.Root open onOpenChange={(open) => !open && onCancel()}>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="editor scope-dialog" aria-describedby={note ? "scope-note" : undefined} data-testid="scope-dialog">
          <Dialog.Title>{title}</Dialog.Title>
          {note ? (
            <p id="scope-note" className="muted small">
              {note}
            </p>
          ) : null}
          <form
            onSubmit={(e) => {
              e.preventDefault();
              e.stopPropagation();
              onPick(choice);
            }}
          >
            <fieldset className="scope-choices">
              <legend className="visually-hidden">Apply to</legend>
              {scopes.map((scope) => (
                <label key={scope} className="inline">
                  <input type="radio" name="scope" value={scope} checked={choice === scope} disabled={disabled.includes(scope)} onChange={() => setChoice(scope)} />{" "}
                  {SCOPE_LABELS[scope]}
                </label>
              ))}
            </fieldset>
            <div className="editor-actions">
              <button type="submit" className="primary">
                OK
              </button>
              <Dialog.Close asChild>
                <button type="button">Cancel</button>
              </Dialog.Close>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** The occurrences of a series so far, oldest first (GET /api/series/{id}/history). */
function History({ seriesId, zone }: { seriesId: string; zone: string }) {
  const [open, setOpen] = useState(false);
  const history = useQuery({
    queryKey: ["history", seriesId],
    enabled: open,
    queryFn: async () =>
      unwrap(await api.GET("/api/series/{series_id}/history", { params: { path: { series_id: seriesId }, query: { limit: 100 } } })),
  });
  return (
    <section aria-labelledby="history-title" className="reminders">
      <h3 id="history-title">Occurrences</h3>
      {!open ? (
        <button type="button" className="link-button" onClick={() => setOpen(true)}>
          Show the history
        </button>
      ) : (
        <ol data-testid="history">
          {(history.data?.results ?? []).map((o) => (
            <li key={o.id} data-status={o.occurrence_status}>
              {o.occurrence_at ? formatInstant(o.occurrence_at, zone) : o.due_date} · {o.occurrence_status}
              {o.completed_at ? ` (done ${formatInstant(o.completed_at, zone)})` : ""}
            </li>
          ))}
          {history.data && history.data.count > history.data.results.length ? (
            <li className="muted small">…and {history.data.count - history.data.results.length} more</li>
          ) : null}
        </ol>
      )}
    </section>
  );
}

/** The task editor dialog (loaded on demand). */
export default function TaskEditor({ taskId: openedId, onClose }: { taskId: string; onClose: () => void }) {
  const engine = useEngine();
  const qc = useQueryClient();
  const zone = useZone();
  // Opened on a task still being created offline: follow it to its server id.
  const taskId = useStore(engine.replacedIds)[openedId] ?? openedId;
  const cached = findTask(qc, taskId);
  const { data: task } = useQuery({
    queryKey: taskKey(taskId),
    initialData: cached,
    enabled: !taskId.startsWith("tmp-"),
    queryFn: async () => unwrap(await api.GET("/api/tasks/{task_id}", { params: { path: { task_id: taskId } } })),
  });
  const series = useQuery({
    queryKey: ["series", task?.series_id],
    enabled: Boolean(task?.series_id) && !taskId.startsWith("tmp-"),
    staleTime: 0, // the mode and template change from other places (the scope dialog, other devices)
    queryFn: async () => unwrap(await api.GET("/api/tasks/{task_id}/series", { params: { path: { task_id: taskId } } })),
  });
  const [form, setForm] = useState(() => formFrom(task, zone));
  const [loaded, setLoaded] = useState(Boolean(task));
  const [mode, setMode] = useState<Mode | null>(null);
  const [asking, setAsking] = useState<"save" | "delete" | null>(null);
  useEffect(() => {
    if (task && !loaded) {
      setForm(formFrom(task, zone));
      setLoaded(true);
    }
  }, [task, loaded, zone]);
  const savedMode: Mode = series.data?.completion_mode ?? "scheduled";
  const currentMode = mode ?? savedMode;
  const projects = useProjects();
  const sections = useSections(form.project || null);

  /** The form's changes, split by where they go: the task, its place, its series. */
  function collect(t: Task) {
    const fields: Record<string, unknown> = {};
    if (form.title !== t.title) fields.title = form.title;
    if (form.description !== t.description) fields.description = form.description;
    if (form.priority !== t.priority) fields.priority = form.priority;
    const tags = form.tags.split(",").map((x) => x.trim()).filter(Boolean);
    if (tags.join(",") !== t.tags.join(",")) fields.tags = tags;
    const ruleChanged = (form.rule || null) !== ((t.recurrence_rule ?? "").replace(/^RRULE:/, "") || null);
    const due: Partial<Task> = {};
    const dueAt = form.allDay ? null : fromZoneInput(form.due, zone);
    const dueDate = form.allDay && form.due ? form.due.slice(0, 10) : null;
    if (dueAt !== t.due_at && !(dueAt && t.due_at && new Date(dueAt).getTime() === new Date(t.due_at).getTime())) due.due_at = dueAt;
    if (dueDate !== t.due_date) due.due_date = dueDate;
    const place: { project_id?: string | null; section_id?: string | null } = {};
    if ((form.project || null) !== (t.project_id ?? null)) place.project_id = form.project || null;
    if ((form.section || null) !== (t.section_id ?? null)) place.section_id = form.section || null;
    // Out of its section, staying in the project: "project_id alone" is the API's way (docs/projects.md).
    if (place.section_id === null) {
      delete place.section_id;
      place.project_id = form.project || null;
    }
    return { fields, ruleChanged, due, place, modeChanged: Boolean(t.series_id) && currentMode !== savedMode };
  }

  async function apply(scope: Scope | null) {
    if (!task) return;
    const c = collect(task);
    const inSeries = Boolean(task.series_id) && !task.is_completed;
    // The task's own fields first, with its version: later writes (move, series) carry none.
    const plain: Partial<Task> = { ...c.due };
    if (!inSeries) Object.assign(plain, c.fields);
    if (c.ruleChanged && !inSeries) Object.assign(plain, { recurrence_rule: form.rule || null, is_recurring: Boolean(form.rule) });
    if (Object.keys(plain).length) await engine.update(task, plain);
    if (Object.keys(c.place).length) await engine.move(task, c.place);
    if (inSeries && scope && scope !== "all") {
      const body: Record<string, unknown> = { ...c.fields };
      if (c.ruleChanged) body.recurrence_rule = form.rule;
      if (c.modeChanged) body.completion_mode = currentMode;
      if (Object.keys(body).length) await engine.editSeries(task, scope, body);
    }
    if (!task.series_id && c.ruleChanged && form.rule && currentMode === "completion") void setModeOnceSeries(task.id);
    onClose();
  }

  /** A rule just set starts a series on the server; its completion mode is a series field, set once it exists. */
  async function setModeOnceSeries(id: string) {
    for (let i = 0; i < 40; i++) {
      const t = findTask(qc, id);
      if (t?.series_id) {
        await engine.editSeries(t, "future", { completion_mode: "completion" });
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    toast("The repeat mode could not be set: the task has no series yet.", { tone: "error" });
  }

  function save(event: FormEvent) {
    event.preventDefault();
    if (!task) return;
    const c = collect(task);
    if (task.series_id && !task.is_completed && (Object.keys(c.fields).length || c.ruleChanged || c.modeChanged)) {
      setAsking("save");
      return;
    }
    void apply(null);
  }

  async function skip() {
    if (!task) return;
    const result = await api.POST("/api/tasks/{task_id}/skip", { params: { path: { task_id: task.id } }, headers: key() });
    const { data, error } = result;
    const status = (result as { response: Response }).response.status;
    if (error !== undefined || !data) {
      toast(new ApiError(status, error).describe(), { tone: "error" });
      return;
    }
    const answer = data as unknown as { skipped: Task; next: Task };
    upsertTask(qc, answer.skipped);
    upsertTask(qc, answer.next, { created: true });
    toast(`Skipped; next: ${formatDue(answer.next, zone) || "no date"}.`);
    onClose();
  }

  const set = (k: keyof ReturnType<typeof formFrom>) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const tagSuggestions = useQuery({
    queryKey: ["tags", form.tags.split(",").at(-1)?.trim() ?? ""],
    queryFn: async () =>
      unwrap(await api.GET("/api/tags", { params: { query: { prefix: form.tags.split(",").at(-1)?.trim() ?? "", limit: 10 } as never } })).results,
  });
  // Wall time without an offset: the server reads it in the profile's zone, as the field shows it.
  const start = form.due ? (form.allDay ? `${form.due.slice(0, 10)}T00:00:00` : `${form.due}:00`) : null;
  const pending = task ? collect(task) : null;
  return (
    <Dialog.Root open onOpenChange={(open) => !open && !asking && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="editor" aria-describedby={undefined}>
          <Dialog.Title>Edit task</Dialog.Title>
          {!task ? (
            <p className="muted">Loading…</p>
          ) : (
            <form onSubmit={save} className="editor-form">
              <label htmlFor="edit-title">Title</label>
              <input id="edit-title" value={form.title} onChange={set("title")} required maxLength={255} />
              <label htmlFor="edit-description">Description</label>
              <textarea id="edit-description" value={form.description} onChange={set("description")} rows={3} maxLength={5000} />
              <div className="row">
                <span>
                  <label htmlFor="edit-due">Due ({zone})</label>
                  <input id="edit-due" type={form.allDay ? "date" : "datetime-local"} value={form.allDay ? form.due.slice(0, 10) : form.due} onChange={set("due")} />
                </span>
                <label className="inline">
                  <input type="checkbox" checked={form.allDay} onChange={(e) => setForm({ ...form, allDay: e.target.checked, due: form.due.slice(0, 10) })} /> all day
                </label>
                <span>
                  <label htmlFor="edit-priority">Priority</label>
                  <select id="edit-priority" value={form.priority} onChange={set("priority")}>
                    <option value="high">high</option>
                    <option value="medium">medium</option>
                    <option value="low">low</option>
                  </select>
                </span>
              </div>
              <div className="row">
                <span>
                  <label htmlFor="edit-project">Project</label>
                  <select id="edit-project" value={form.project} onChange={(e) => setForm({ ...form, project: e.target.value, section: "" })}>
                    {(projects.data ?? []).map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.is_inbox ? "Inbox" : p.name}
                      </option>
                    ))}
                  </select>
                </span>
                <span>
                  <label htmlFor="edit-section">Section</label>
                  <select id="edit-section" value={form.section} onChange={set("section")} disabled={Boolean(task.parent_id)}>
                    <option value="">(no section)</option>
                    {(sections.data ?? []).map((x) => (
                      <option key={x.id} value={x.id}>
                        {x.name}
                      </option>
                    ))}
                  </select>
                </span>
              </div>
              <label htmlFor="edit-tags">Tags (comma separated)</label>
              <input id="edit-tags" value={form.tags} onChange={set("tags")} list="tag-suggestions" autoComplete="off" />
              <datalist id="tag-suggestions">
                {(tagSuggestions.data ?? []).map((t) => (
                  <option key={t.name} value={[...form.tags.split(",").slice(0, -1).map((x) => x.trim()).filter(Boolean), t.name].join(", ")} />
                ))}
              </datalist>
              <label htmlFor="edit-preset">Repeat</label>
              <select id="edit-preset" value={PRESETS.some((p) => p.rule === form.rule) ? form.rule : "custom"} onChange={(e) => e.target.value !== "custom" && setForm({ ...form, rule: e.target.value })}>
                {PRESETS.map((p) => (
                  <option key={p.label} value={p.rule}>
                    {p.label}
                  </option>
                ))}
                <option value="custom">Custom rule…</option>
              </select>
              <label htmlFor="edit-rule">Recurrence rule (RFC 5545)</label>
              <input id="edit-rule" value={form.rule} onChange={set("rule")} placeholder="FREQ=WEEKLY;BYDAY=MO,WE" />
              {form.rule && (!task.series_id || series.data) ? (
                <fieldset className="completion-mode">
                  <legend>Next date counts from</legend>
                  <label className="inline">
                    <input type="radio" name="completion-mode" checked={currentMode === "scheduled"} onChange={() => setMode("scheduled")} /> the schedule (every)
                  </label>
                  <label className="inline">
                    <input type="radio" name="completion-mode" checked={currentMode === "completion"} onChange={() => setMode("completion")} /> the completion (every!)
                  </label>
                </fieldset>
              ) : null}
              <RecurrencePreview rule={form.rule} start={start} zone={zone} />
              <div className="editor-actions">
                <button type="submit" className="primary">
                  Save
                </button>
                <Dialog.Close asChild>
                  <button type="button">Cancel</button>
                </Dialog.Close>
                {task.series_id && !task.is_completed && !task.is_skipped ? (
                  <button type="button" onClick={() => void skip()}>
                    Skip this occurrence
                  </button>
                ) : null}
                <button
                  type="button"
                  className="danger"
                  onClick={() => {
                    if (task.series_id) {
                      setAsking("delete");
                      return;
                    }
                    void engine.remove(task);
                    onClose();
                  }}
                >
                  Delete
                </button>
              </div>
              {task.series_id ? <History seriesId={task.series_id} zone={zone} /> : null}
              <Subtasks task={task} />
              <Reminders task={task} zone={zone} />
            </form>
          )}
          {asking === "save" && task && pending ? (
            <ScopeDialog
              title="Change which occurrences?"
              scopes={["this", "future"]}
              disabled={pending.ruleChanged || pending.modeChanged ? ["this"] : []}
              note={pending.ruleChanged || pending.modeChanged ? "A new rule or repeat mode applies from this occurrence on." : undefined}
              onCancel={() => setAsking(null)}
              onPick={(scope) => {
                setAsking(null);
                void apply(scope);
              }}
            />
          ) : null}
          {asking === "delete" && task ? (
            <ScopeDialog
              title="Delete which occurrences?"
              scopes={["this", "future", "all"]}
              note="“All” also deletes the completed and skipped occurrences."
              onCancel={() => setAsking(null)}
              onPick={(scope) => {
                setAsking(null);
                void engine.removeSeries(task, scope);
                onClose();
              }}
            />
          ) : null}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

type Mode = "scheduled" | "completion";

function formFrom(task: Task | undefined, zone: string) {
  return {
    title: task?.title ?? "",
    description: task?.description ?? "",
    priority: (task?.priority ?? "medium") as Priority,
    tags: task?.tags.join(", ") ?? "",
    allDay: Boolean(task?.due_date && !task?.due_at),
    due: task?.due_at ? toZoneInput(task.due_at, zone) : (task?.due_date ?? ""),
    rule: (task?.recurrence_rule ?? "").replace(/^RRULE:/, ""),
    project: task?.project_id ?? "",
    section: task?.section_id ?? "",
  };
}
