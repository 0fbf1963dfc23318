/**
 * The live connection to /ws/tasks/: authenticates with the bearer
 * subprotocol, subscribes to tasks and notifications, pings every
 * heartbeat_seconds, reconnects with backoff (refreshing the token on 4401),
 * and keeps pushes in order with SeqTracker — resyncing by sequence number
 * after a gap or a reconnect, never by reloading everything.
 */
import { SeqTracker, type PushedEvent } from "./seq";

export type SocketStatus = "connecting" | "connected" | "reconnecting" | "offline";

export interface LiveSyncOptions {
  url: string;
  token: (forceRefresh: boolean) => Promise<string | null>;
  /** The last seq applied on this device (persisted), or null for "never synced". */
  loadSeq: () => number | null;
  saveSeq: (seq: number) => void;
  onEvent: (event: PushedEvent) => void;
  /** The server can no longer replay what was missed (or this device never synced): reload state. */
  onReload: () => Promise<void>;
  onStatus: (status: SocketStatus) => void;
  WebSocketImpl?: typeof WebSocket;
}

export class LiveSync {
  private ws: WebSocket | null = null;
  private tracker = new SeqTracker();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempts = 0;
  private stopped = false;
  private forceRefresh = false;
  status: SocketStatus = "connecting";

  constructor(private readonly options: LiveSyncOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.clearHeartbeat();
    this.ws?.close(1000);
    this.ws = null;
  }

  /** The browser says the network is gone (or back). */
  setOnline(online: boolean): void {
    if (!online) {
      this.setStatus("offline");
      this.ws?.close(1000);
    } else if (!this.ws && !this.stopped) {
      this.attempts = 0;
      void this.connect();
    }
  }

  private setStatus(status: SocketStatus): void {
    this.status = status;
    this.options.onStatus(status);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this.setStatus("offline");
      return;
    }
    this.setStatus(this.attempts === 0 ? "connecting" : "reconnecting");
    let token: string | null = null;
    try {
      token = await this.options.token(this.forceRefresh);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.forceRefresh = false;
    if (!token || this.stopped) return;
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.options.url, ["bearer", token]);
    this.ws = ws;
    ws.onmessage = (message) => this.receive(JSON.parse(String(message.data)) as Record<string, unknown>);
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearHeartbeat();
      if (this.stopped) return;
      if (event.code === 4401) this.forceRefresh = true;
      if (typeof navigator !== "undefined" && navigator.onLine === false) {
        this.setStatus("offline");
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.setStatus("reconnecting");
    this.attempts += 1;
    const delay = Math.min(10_000, 300 * 2 ** Math.min(this.attempts, 6)) * (0.75 + Math.random() * 0.5);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private clearHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private sendFrame(frame: Record<string, unknown>): void {
    if (this.ws?.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  private async receive(frame: Record<string, unknown>): Promise<void> {
    switch (frame.type) {
      case "connected": {
        this.attempts = 0;
        const heartbeat = Number(frame.heartbeat_seconds ?? 25) * 1000;
        this.clearHeartbeat();
        this.heartbeat = setInterval(() => this.sendFrame({ type: "ping" }), heartbeat);
        this.sendFrame({ type: "subscribe", channel: "tasks" });
        this.sendFrame({ type: "subscribe", channel: "notifications" });
        this.sendFrame({ type: "subscribe", channel: "chat" });
        const stored = this.options.loadSeq();
        const serverSeq = Number(frame.last_seq ?? 0);
        if (stored === null || stored > serverSeq) {
          // Never synced here (or the server was reset): start from the
          // server's counter and reload, so nothing before it is missing.
          this.tracker.reset(serverSeq);
          this.options.saveSeq(serverSeq);
          await this.options.onReload();
        } else {
          this.tracker.reset(stored);
          if (stored < serverSeq) this.resync();
        }
        this.setStatus("connected");
        return;
      }
      case "resync.complete": {
        const next = Number(frame.next_since);
        if (frame.has_more) {
          this.sendFrame({ type: "resync", since: next });
          return;
        }
        this.tracker.caughtUp(next);
        this.options.saveSeq(this.tracker.since());
        return;
      }
      case "resync.required": {
        const since = Number(frame.since ?? 0);
        await this.options.onReload();
        // onReload read the cursor first; continue from there.
        const stored = this.options.loadSeq();
        this.tracker.reset(stored ?? since);
        return;
      }
      case "pong":
      case "subscribed":
      case "unsubscribed":
      case "error":
        return;
      default:
        if (typeof frame.seq === "number" && (frame.channel === "tasks" || frame.channel === "notifications")) {
          this.push(frame as unknown as PushedEvent);
        } else if (frame.channel === "chat") {
          // Chat only refreshes the conversation: no ordering to keep (the history is re-read).
          this.options.onEvent(frame as unknown as PushedEvent);
        }
    }
  }

  private push(event: PushedEvent): void {
    const verdict = this.tracker.classify(event);
    if (verdict === "duplicate") return;
    if (verdict === "gap") {
      this.resync();
      return;
    }
    this.tracker.applied(event);
    // Mid-resync the contiguous point is still the resync's start.
    if (!this.tracker.resyncing) this.options.saveSeq(this.tracker.since());
    this.options.onEvent(event);
  }

  private resync(): void {
    if (this.tracker.resyncing) return;
    this.sendFrame({ type: "resync", since: this.tracker.beginResync() });
  }

  /** For tests and the status line. */
  lastSeq(): number {
    return this.tracker.since();
  }
}
