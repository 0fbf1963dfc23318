/**
 * The client's write and sync engine for one signed-in user: every task write
 * is applied optimistically to the cache, stored in the outbox and sent with
 * its Idempotency-Key; the socket's pushes and the outbox's answers update
 * the same cache. One instance per session (see useEngine).
 */
import type { QueryClient } from "@tanstack/react-query";
import { api, authFetch, newId, type Task } from "../api/client";
import type { ApiError } from "../api/errors";
import { getAccessToken, refreshSession } from "../auth/session";
import { openUserDb } from "../offline/db";
import { httpSender, Outbox, type OutboxEntry } from "../offline/outbox";
import { Store, toast } from "../lib/store";
import { LiveSync, type SocketStatus } from "../sync/socket";
import type { PushedEvent } from "../sync/seq";
import { findTask, removeTask, reorderTasks, upsertTask } from "./cache";

const UNDO_MS = 5000;

export class Engine {
  readonly socketStatus = new Store<SocketStatus>("connecting");
  readonly pending = new Store<OutboxEntry[]>([]);
  /** Temporary ids of offline creates → the server's ids, once answered (an open editor follows it). */
  readonly replacedIds = new Store<Record<string, string>>({});
  readonly online = new Store<boolean>(typeof navigator === "undefined" ? true : navigator.onLine);
  private outbox: Outbox | null = null;
  private ready: Promise<Outbox>;
  private live: LiveSync;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly cleanups: (() => void)[] = [];
  /**
   * Tasks deleted here whose DELETE still waits out its undo window: the answer
   * or push of an earlier write (say, the edit just saved) must not bring the
   * row back, or it would stay on screen until the delete is sent.
   */
  private readonly deleting = new Set<string>();

  constructor(
    readonly userId: number,
    private readonly qc: QueryClient,
  ) {
    this.ready = openUserDb(userId).then((db) => {
      this.outbox = new Outbox(db, httpSender(authFetch), {
        applied: (entry, data, headers) => this.applied(entry, data, headers),
        rejected: (entry, error) => this.rejected(entry, error),
        changed: (pending) => this.pending.set(pending),
      });
      void this.outbox.pending().then((p) => this.pending.set(p));
      return this.outbox;
    });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.live = new LiveSync({
      url: `${scheme}://${location.host}/ws/tasks/`,
      token: async (force) => (force ? ((await refreshSession())?.access ?? null) : getAccessToken()),
      loadSeq: () => {
        const raw = localStorage.getItem(this.seqKey());
        return raw === null ? null : Number(raw);
      },
      saveSeq: (seq) => localStorage.setItem(this.seqKey(), String(seq)),
      onEvent: (event) => this.onEvent(event),
      onReload: () => this.reload(),
      onStatus: (status) => {
        this.socketStatus.set(status);
        if (status === "connected") void this.flush();
      },
    });
  }

  private seqKey(): string {
    return `taskbeat.seq.${this.userId}`;
  }

  start(): void {
    this.live.start();
    const onOnline = () => {
      this.online.set(true);
      this.live.setOnline(true);
      void this.flush();
    };
    const onOffline = () => {
      this.online.set(false);
      this.live.setOnline(false);
    };
    window.addEventListener("online", onOnline);
    window.addEventListener("offline", onOffline);
    this.cleanups.push(() => window.removeEventListener("online", onOnline));
    this.cleanups.push(() => window.removeEventListener("offline", onOffline));
    // Retries after a 5xx / 429, and delayed deletes whose undo window closed.
    this.timer = setInterval(() => {
      if (this.pending.get().length && navigator.onLine) void this.flush();
    }, 3000);
    void this.flush();
  }

  stop(): void {
    this.live.stop();
    if (this.timer) clearInterval(this.timer);
    this.cleanups.forEach((fn) => fn());
  }

  async flush(): Promise<void> {
    const outbox = await this.ready;
    if (!navigator.onLine) return;
    await outbox.flush();
  }

  private async enqueue(entry: Omit<OutboxEntry, "key" | "order" | "attempts" | "createdAt">): Promise<OutboxEntry> {
    const outbox = await this.ready;
    const stored = await outbox.enqueue({ ...entry, key: newId() });
    void this.flush();
    return stored;
  }

  // --- writes -------------------------------------------------------------

  /** Quick add; `projectId`: the page's project, when the text names none (`##Project` wins). */
  async quickAdd(text: string, projectId?: string): Promise<void> {
    const tempId = `tmp-${newId()}`;
    const now = new Date().toISOString();
    const placeholder: Task = {
      id: tempId, title: text, description: "", is_completed: false, completed_at: null, due_date: null, due_at: null,
      remind_at: null, remind_offset_minutes: null, project_id: projectId ?? null, section_id: null, parent_id: null, is_recurring: false, recurrence_rule: null, priority: "medium", tags: [], position: Number.MAX_SAFE_INTEGER,
      version: 0, created_at: now, updated_at: now, series_id: null, occurrence_at: null, is_skipped: false,
    };
    upsertTask(this.qc, placeholder, { created: true });
    await this.enqueue({ method: "POST", path: "/api/tasks/quick", body: { text }, label: `Add “${text}”`, createsTempId: tempId, taskRef: tempId });
    // Quick add creates in the Inbox; the move follows in the same outbox (the temporary id is rewritten).
    if (projectId) await this.enqueue({ method: "POST", path: `/api/tasks/${tempId}/move`, body: { project_id: projectId }, label: `Move “${text}”`, taskRef: tempId });
  }

  async update(task: Task, changes: Partial<Task>, label?: string): Promise<void> {
    const optimistic: Task = { ...task, ...changes };
    if ("is_completed" in changes) optimistic.completed_at = changes.is_completed ? new Date().toISOString() : null;
    upsertTask(this.qc, optimistic);
    const body: Record<string, unknown> = { ...changes, client_updated_at: new Date().toISOString() };
    if (task.version > 0) body.version = task.version;
    await this.enqueue({ method: "PATCH", path: `/api/tasks/${task.id}`, body, label: label ?? `Edit “${task.title}”`, taskRef: task.id });
  }

  toggle(task: Task): Promise<void> {
    return this.update(task, { is_completed: !task.is_completed }, `${task.is_completed ? "Reopen" : "Complete"} “${task.title}”`);
  }

  async remove(task: Task): Promise<void> {
    this.deleting.add(task.id);
    removeTask(this.qc, task.id);
    const stored = this.enqueue({
      method: "DELETE", path: `/api/tasks/${task.id}`, label: `Delete “${task.title}”`, taskRef: task.id, notBefore: Date.now() + UNDO_MS,
    });
    // The toast shows at once, not after the IndexedDB write: under load that
    // write can take long enough to eat into the undo window. An undo clicked
    // before the write lands waits for it, then cancels the entry.
    toast(`Deleted “${task.title}”`, {
      timeoutMs: UNDO_MS,
      action: {
        label: "Undo",
        run: () => {
          void stored.then(async (entry) => {
            const outbox = await this.ready;
            if (await outbox.cancel(entry.key)) {
              this.deleting.delete(task.id);
              upsertTask(this.qc, task, { created: true });
            }
          });
        },
      },
    });
    await stored;
  }

  /**
   * A change of place (project / section / parent): POST /api/tasks/{id}/move,
   * recorded by the server as task.moved (docs/projects.md).
   */
  async move(task: Task, to: { project_id?: string | null; section_id?: string | null; parent_id?: string | null }, label?: string): Promise<void> {
    upsertTask(this.qc, { ...task, ...to, ...(to.project_id !== undefined && to.section_id === undefined ? { section_id: null } : {}) });
    const body: Record<string, unknown> = { ...to };
    if (task.version > 0) body.version = task.version;
    await this.enqueue({ method: "POST", path: `/api/tasks/${task.id}/move`, body, label: label ?? `Move “${task.title}”`, taskRef: task.id });
  }

  /** Edit this occurrence or this and the future ones of a series (PATCH /api/tasks/{id}/series). */
  async editSeries(task: Task, scope: "this" | "future", changes: Record<string, unknown>): Promise<void> {
    const optimistic = { ...task, ...changes } as Task;
    delete (optimistic as unknown as Record<string, unknown>).completion_mode;
    upsertTask(this.qc, optimistic);
    await this.enqueue({
      method: "PATCH",
      path: `/api/tasks/${task.id}/series`,
      body: { scope, ...changes },
      label: `Edit “${task.title}” (${scope === "this" ? "this occurrence" : "this and future"})`,
      taskRef: task.id,
    });
  }

  /** Delete this occurrence, this and future ones, or the whole series; the pushes remove the rows. */
  async removeSeries(task: Task, scope: "this" | "future" | "all"): Promise<void> {
    removeTask(this.qc, task.id);
    const label = { this: "this occurrence", future: "this and future occurrences", all: "the whole series" }[scope];
    await this.enqueue({ method: "DELETE", path: `/api/tasks/${task.id}/series?scope=${scope}`, label: `Delete “${task.title}” (${label})`, taskRef: task.id });
    void this.qc.invalidateQueries({ queryKey: ["tasks"] });
  }

  async reorder(ids: string[]): Promise<void> {
    reorderTasks(this.qc, ids);
    const real = ids.filter((id) => !id.startsWith("tmp-"));
    if (real.length < 2) return;
    await this.enqueue({ method: "POST", path: "/api/tasks/reorder", body: { task_ids: real }, label: "Reorder tasks" });
  }

  // --- answers and pushes -----------------------------------------------------

  private applied(entry: OutboxEntry, data: unknown, headers: Headers): void {
    const task = data as Task | null;
    if (entry.method === "DELETE" && entry.taskRef) this.deleting.delete(entry.taskRef);
    if (task && typeof task === "object" && "id" in task && "version" in task && !this.deleting.has(String(task.id))) {
      upsertTask(this.qc, task, { replaces: entry.createsTempId, created: Boolean(entry.createsTempId) });
    }
    if (entry.createsTempId) {
      removeTask(this.qc, entry.createsTempId);
      if (task?.id) this.replacedIds.set((ids) => ({ ...ids, [entry.createsTempId!]: task.id }));
    }
    if (headers.get("Taskbeat-Conflict") === "client_won") {
      toast(`${entry.label}: your edit was the later one and replaced version ${headers.get("Taskbeat-Overwritten-Version")}.`);
    }
    if (entry.path.includes("/series")) {
      void this.qc.invalidateQueries({ queryKey: ["series"] });
      void this.qc.invalidateQueries({ queryKey: ["history"] });
    }
    this.refreshViews();
  }

  /**
   * The server-ordered views (Today, Upcoming, Overdue: their grouping and
   * order are the server's rules) and the sidebar counts are re-read after a
   * change; they are small (one range scan each, docs/projects.md).
   */
  private refreshViews(): void {
    void this.qc.invalidateQueries({ queryKey: ["counts"] });
    void this.qc.invalidateQueries({ queryKey: ["agenda"] });
  }

  private rejected(entry: OutboxEntry, error: ApiError): void {
    toast(`${entry.label} failed: ${error.describe()}`, { tone: "error", timeoutMs: 9000 });
    if (entry.method === "DELETE" && entry.taskRef) this.deleting.delete(entry.taskRef);
    if (entry.createsTempId) removeTask(this.qc, entry.createsTempId);
    const winner = error.details?.task as Task | undefined;
    if (error.code === "version_conflict" && winner) {
      upsertTask(this.qc, winner);
      return;
    }
    if (entry.taskRef) void this.qc.invalidateQueries({ queryKey: ["task", entry.taskRef] });
    void this.qc.invalidateQueries({ queryKey: ["tasks"] });
  }

  private onEvent(event: PushedEvent): void {
    const data = event.data;
    switch (event.type) {
      case "task.created":
      case "task.updated":
      case "task.completed":
        if (data.task && !this.deleting.has(String((data.task as Task).id))) {
          // Our own create, pushed before its HTTP answer: it replaces the temporary row.
          const mine = this.pending.get().find((p) => p.key === event.request_id);
          upsertTask(this.qc, data.task as Task, { created: event.type === "task.created", replaces: mine?.createsTempId });
        }
        this.refreshViews();
        break;
      case "task.moved":
        if (data.task && !this.deleting.has(String((data.task as Task).id))) upsertTask(this.qc, data.task as Task);
        this.refreshViews();
        break;
      case "task.deleted":
        if (findTask(this.qc, String(data.task_id))) removeTask(this.qc, String(data.task_id));
        this.refreshViews();
        break;
      case "task.reordered":
        reorderTasks(this.qc, (data.task_ids as string[]) ?? []);
        break;
      case "project.created":
      case "project.updated":
      case "project.archived":
      case "project.unarchived":
      case "project.reordered":
      case "project.deleted":
        void this.qc.invalidateQueries({ queryKey: ["projects"] });
        this.refreshViews();
        break;
      case "section.created":
      case "section.updated":
      case "section.reordered":
      case "section.deleted":
        void this.qc.invalidateQueries({ queryKey: ["sections", String(data.project_id ?? "")] });
        break;
      case "chat.message.created":
      case "chat.message.received":
      case "chat.history.cleared":
        void this.qc.invalidateQueries({ queryKey: ["chat"] });
        break;
      case "notification.created":
        this.qc.setQueryData<{ unread: number }>(["unread"], (old) => ({ unread: (old?.unread ?? 0) + 1 }));
        void this.qc.invalidateQueries({ queryKey: ["notifications"] });
        toast(`🔔 ${String(data.title ?? "Reminder")}`);
        if (typeof Notification !== "undefined" && Notification.permission === "granted" && document.hidden) {
          new Notification(String(data.title ?? "Taskbeat"), { body: String(data.body ?? "") });
        }
        break;
    }
  }

  /** Full reload (docs/realtime.md): read the cursor first, then the state. */
  private async reload(): Promise<void> {
    try {
      const { data } = await api.GET("/api/sync/cursor");
      if (data) localStorage.setItem(this.seqKey(), String(data.last_seq));
    } catch {
      return;
    }
    await this.qc.invalidateQueries();
  }
}
