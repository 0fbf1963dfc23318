/**
 * The durable write outbox. Every write the app makes — online or not — is
 * first stored here with its own Idempotency-Key, then sent; it leaves the
 * outbox only once the server has answered it. A write made offline therefore
 * survives a reload and is replayed once, in order, when the connection
 * returns: a retry carries the same key, so the server applies it at most
 * once (docs/realtime.md, "Idempotency-Key").
 *
 * Tasks created offline have no server id yet. They get a temporary id
 * (`tmp-…`) that later entries may use in their path; when the create is
 * answered the mapping is stored and the later entries are rewritten.
 */
import type { TaskbeatDB } from "./db";
import { ApiError, isRetryable } from "../api/errors";

export type Method = "POST" | "PUT" | "PATCH" | "DELETE";

export interface OutboxEntry {
  key: string; // the Idempotency-Key, also the X-Request-ID of every attempt
  order: number; // enqueue order
  method: Method;
  path: string; // may contain a temporary task id
  body?: Record<string, unknown>;
  label: string; // what the user did, for the pending list
  taskRef?: string; // the task it changes (real or temporary id)
  createsTempId?: string; // a create: the temporary id its answer replaces
  notBefore?: number; // e.g. a delete that can still be undone
  attempts: number;
  createdAt: string;
}

export type SendResult =
  | { kind: "ok"; status: number; data: unknown; headers: Headers }
  | { kind: "network" }
  | { kind: "error"; error: ApiError };

export type Sender = (entry: OutboxEntry) => Promise<SendResult>;

export interface OutboxHooks {
  applied?: (entry: OutboxEntry, data: unknown, headers: Headers) => void;
  rejected?: (entry: OutboxEntry, error: ApiError) => void;
  changed?: (pending: OutboxEntry[]) => void;
}

export const isTempId = (id: string | undefined): boolean => !!id && id.startsWith("tmp-");

/** The storage the outbox needs; IndexedDB in the app, the same through fake-indexeddb in tests. */
export class Outbox {
  private flushing: Promise<FlushResult> | null = null;
  private again: Promise<FlushResult> | null = null;
  private counter = 0;

  constructor(
    private readonly db: TaskbeatDB,
    private readonly send: Sender,
    private readonly hooks: OutboxHooks = {},
  ) {}

  async pending(): Promise<OutboxEntry[]> {
    const all = (await this.db.getAll("outbox")) as OutboxEntry[];
    return all.sort((a, b) => a.order - b.order);
  }

  async enqueue(entry: Omit<OutboxEntry, "order" | "attempts" | "createdAt"> & { createdAt?: string }): Promise<OutboxEntry> {
    const last = (await this.pending()).at(-1);
    this.counter = Math.max(this.counter, last?.order ?? 0) + 1;
    const full: OutboxEntry = { ...entry, order: this.counter, attempts: 0, createdAt: entry.createdAt ?? new Date().toISOString() };
    await this.db.put("outbox", full);
    this.hooks.changed?.(await this.pending());
    return full;
  }

  /** Drop a not-yet-sent entry (undo of a delayed delete). */
  async cancel(key: string): Promise<boolean> {
    const entry = (await this.db.get("outbox", key)) as OutboxEntry | undefined;
    if (!entry) return false;
    await this.db.delete("outbox", key);
    this.hooks.changed?.(await this.pending());
    return true;
  }

  async resolveId(id: string): Promise<string | undefined> {
    if (!isTempId(id)) return id;
    return (await this.db.get("meta", `id:${id}`)) as string | undefined;
  }

  /** The version the server gave the task after our last write to it. */
  async knownVersion(taskId: string): Promise<number | undefined> {
    return (await this.db.get("meta", `version:${taskId}`)) as number | undefined;
  }

  /**
   * Send what is due, oldest first. One run at a time: a call made while a run
   * is going (say, for a write enqueued meanwhile) gets one more run after it,
   * so nothing waits for the next timer.
   */
  flush(now: () => number = Date.now): Promise<FlushResult> {
    if (this.flushing) {
      this.again ??= this.flushing.then(() => {
        this.again = null;
        return this.flush(now);
      });
      return this.again;
    }
    this.flushing = this.run(now).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async run(now: () => number): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, rejected: 0, stopped: null };
    for (const stored of await this.pending()) {
      if (stored.notBefore && stored.notBefore > now()) continue;
      const entry = await this.prepare(stored);
      if (!entry) {
        // Its task's create was refused: nothing to apply this to.
        await this.db.delete("outbox", stored.key);
        result.rejected += 1;
        this.hooks.rejected?.(stored, new ApiError(404, { error: { code: "not_found", message: "The task this change was for was never created." } }));
        continue;
      }
      const answer = await this.send(entry);
      if (answer.kind === "network") {
        result.stopped = "network";
        break;
      }
      if (answer.kind === "error" && isRetryable(answer.error.status, answer.error.code)) {
        await this.db.put("outbox", { ...stored, attempts: stored.attempts + 1 });
        result.stopped = "retry";
        break;
      }
      await this.db.delete("outbox", stored.key);
      if (answer.kind === "error") {
        result.rejected += 1;
        this.hooks.rejected?.(entry, answer.error);
        continue;
      }
      result.sent += 1;
      await this.remember(entry, answer.data);
      this.hooks.applied?.(entry, answer.data, answer.headers);
    }
    this.hooks.changed?.(await this.pending());
    return result;
  }

  /** Rewrite temporary ids and stale versions from what earlier answers told us. */
  private async prepare(entry: OutboxEntry): Promise<OutboxEntry | null> {
    let path = entry.path;
    let taskRef = entry.taskRef;
    for (const match of path.match(/tmp-[0-9a-f-]+/g) ?? []) {
      const real = await this.resolveId(match);
      if (!real) return null;
      path = path.replace(match, real);
    }
    if (taskRef && isTempId(taskRef) && taskRef !== entry.createsTempId) {
      const real = await this.resolveId(taskRef);
      if (!real) return null;
      taskRef = real;
    }
    let body = entry.body;
    if (body && taskRef && typeof body.version === "number") {
      // An edit made on top of our own earlier (queued) edit was based on the
      // version that edit produced, not on the one the device saw before.
      const known = await this.knownVersion(taskRef);
      if (known !== undefined && known > body.version) body = { ...body, version: known };
    }
    return { ...entry, path, taskRef, body };
  }

  private async remember(entry: OutboxEntry, data: unknown): Promise<void> {
    const task = data as { id?: string; version?: number } | null;
    if (entry.createsTempId && task?.id) await this.db.put("meta", task.id, `id:${entry.createsTempId}`);
    if (task?.id && typeof task.version === "number") await this.db.put("meta", task.version, `version:${task.id}`);
  }
}

export interface FlushResult {
  sent: number;
  rejected: number;
  stopped: "network" | "retry" | null;
}

/** The real sender: fetch with the entry's Idempotency-Key. */
export function httpSender(fetchImpl: (request: Request) => Promise<Response>): Sender {
  return async (entry) => {
    const request = new Request(entry.path, {
      method: entry.method,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Idempotency-Key": entry.key,
        "X-Request-ID": entry.key,
      },
      body: entry.body === undefined ? undefined : JSON.stringify(entry.body),
    });
    let response: Response;
    try {
      response = await fetchImpl(request);
    } catch {
      return { kind: "network" };
    }
    const text = await response.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (response.ok) return { kind: "ok", status: response.status, data, headers: response.headers };
    return { kind: "error", error: new ApiError(response.status, data) };
  };
}
