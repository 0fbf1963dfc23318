import { useEffect, useState, type FormEvent } from "react";
import * as Dialog from "@radix-ui/react-dialog";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Priority, type Reminder, type Task } from "../api/client";
import { ApiError } from "../api/errors";
import { formatInstant, fromLocalInput, toLocalInput } from "../lib/dates";
import { toast, useStore } from "../lib/store";
import { findTask, taskKey, upsertTask } from "../tasks/cache";
import { useEngine } from "../tasks/useEngine";

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

function RecurrencePreview({ rule, start }: { rule: string; start: string | null }) {
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
          <li key={o}>{formatInstant(o)}</li>
        ))}
      </ol>
    </div>
  );
}

function Reminders({ task }: { task: Task }) {
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
              {formatInstant(r.fire_at)} · {r.offset_minutes !== null ? `${r.offset_minutes} min before` : "at a time"} · {r.status}
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
          <label htmlFor="reminder-at">Remind at</label>
          <input id="reminder-at" type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
          <button type="button" disabled={!at} onClick={() => void add({ remind_at: fromLocalInput(at) })}>
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

/** The task editor dialog (loaded on demand). */
export default function TaskEditor({ taskId: openedId, onClose }: { taskId: string; onClose: () => void }) {
  const engine = useEngine();
  const qc = useQueryClient();
  // Opened on a task still being created offline: follow it to its server id.
  const taskId = useStore(engine.replacedIds)[openedId] ?? openedId;
  const cached = findTask(qc, taskId);
  const { data: task } = useQuery({
    queryKey: taskKey(taskId),
    initialData: cached,
    enabled: !taskId.startsWith("tmp-"),
    queryFn: async () => unwrap(await api.GET("/api/tasks/{task_id}", { params: { path: { task_id: taskId } } })),
  });
  const [form, setForm] = useState(() => formFrom(task));
  const [loaded, setLoaded] = useState(Boolean(task));
  useEffect(() => {
    if (task && !loaded) {
      setForm(formFrom(task));
      setLoaded(true);
    }
  }, [task, loaded]);

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!task) return;
    const changes: Partial<Task> = {};
    if (form.title !== task.title) changes.title = form.title;
    if (form.description !== task.description) changes.description = form.description;
    if (form.priority !== task.priority) changes.priority = form.priority;
    const tags = form.tags.split(",").map((t) => t.trim()).filter(Boolean);
    if (tags.join(",") !== task.tags.join(",")) changes.tags = tags;
    const dueAt = form.allDay ? null : fromLocalInput(form.due);
    const dueDate = form.allDay && form.due ? form.due.slice(0, 10) : null;
    if (dueAt !== task.due_at && !(dueAt && task.due_at && new Date(dueAt).getTime() === new Date(task.due_at).getTime())) changes.due_at = dueAt;
    if (dueDate !== task.due_date) changes.due_date = dueDate;
    if ((form.rule || null) !== (task.recurrence_rule || null)) changes.recurrence_rule = form.rule || null;
    if (Object.keys(changes).length) await engine.update(task, changes);
    onClose();
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
    onClose();
  }

  const set = (k: keyof ReturnType<typeof formFrom>) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const tagSuggestions = useQuery({
    queryKey: ["tags", form.tags.split(",").at(-1)?.trim() ?? ""],
    queryFn: async () =>
      unwrap(await api.GET("/api/tags", { params: { query: { prefix: form.tags.split(",").at(-1)?.trim() ?? "", limit: 10 } as never } })).results,
  });
  const start = form.allDay ? (form.due ? `${form.due.slice(0, 10)}T00:00:00` : null) : form.due ? fromLocalInput(form.due) : null;
  return (
    <Dialog.Root open onOpenChange={(open) => !open && onClose()}>
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
                  <label htmlFor="edit-due">Due</label>
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
              <RecurrencePreview rule={form.rule} start={start} />
              <div className="editor-actions">
                <button type="submit" className="primary">
                  Save
                </button>
                <Dialog.Close asChild>
                  <button type="button">Cancel</button>
                </Dialog.Close>
                {task.series_id && !task.is_completed ? (
                  <button type="button" onClick={() => void skip()}>
                    Skip this occurrence
                  </button>
                ) : null}
                <button
                  type="button"
                  className="danger"
                  onClick={() => {
                    void engine.remove(task);
                    onClose();
                  }}
                >
                  Delete
                </button>
              </div>
              <Subtasks task={task} />
              <Reminders task={task} />
            </form>
          )}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function formFrom(task: Task | undefined) {
  return {
    title: task?.title ?? "",
    description: task?.description ?? "",
    priority: (task?.priority ?? "medium") as Priority,
    tags: task?.tags.join(", ") ?? "",
    allDay: Boolean(task?.due_date && !task?.due_at),
    due: task?.due_at ? toLocalInput(task.due_at) : (task?.due_date ?? ""),
    rule: (task?.recurrence_rule ?? "").replace(/^RRULE:/, ""),
  };
}
