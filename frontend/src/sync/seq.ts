/**
 * Sequence bookkeeping for /ws/tasks/ (docs/realtime.md, "Applying pushes in
 * order"): per channel, the highest seq applied; a push whose prev_seq is
 * beyond it means something was missed, and the client resyncs from the
 * smallest last_seq of its channels. Pure logic, no socket.
 */
export type Channel = "tasks" | "notifications";
export const CHANNELS: Channel[] = ["tasks", "notifications"];

export interface PushedEvent {
  type: string;
  channel: Channel;
  id: string;
  seq: number;
  prev_seq: number | null;
  time: string;
  version: number | null;
  request_id: string | null;
  data: Record<string, unknown>;
}

export type Verdict = "apply" | "duplicate" | "gap";

export class SeqTracker {
  last: Record<Channel, number>;
  /** While a resync runs: where it started, and the seqs applied since. */
  private replay: { base: Record<Channel, number>; seen: Set<number> } | null = null;

  constructor(initial: number | Partial<Record<Channel, number>> = 0) {
    const base = typeof initial === "number" ? { tasks: initial, notifications: initial } : initial;
    this.last = { tasks: base.tasks ?? 0, notifications: base.notifications ?? 0 };
  }

  get resyncing(): boolean {
    return this.replay !== null;
  }

  /**
   * What to do with an event. While resyncing, replayed events and live pushes
   * interleave and look alike, so any event after the resync's start that was
   * not applied yet is applied (each carries the whole task, and the cache
   * keeps the higher task version, so order among them does not matter).
   */
  classify(event: Pick<PushedEvent, "channel" | "seq" | "prev_seq">): Verdict {
    if (this.replay) {
      const seen = event.seq <= this.replay.base[event.channel] || this.replay.seen.has(event.seq);
      return seen ? "duplicate" : "apply";
    }
    const last = this.last[event.channel] ?? 0;
    if (event.seq <= last) return "duplicate";
    if (event.prev_seq === null || event.prev_seq <= last) return "apply";
    return "gap";
  }

  applied(event: Pick<PushedEvent, "channel" | "seq">): void {
    this.replay?.seen.add(event.seq);
    this.last[event.channel] = Math.max(this.last[event.channel] ?? 0, event.seq);
  }

  /** Start a resync; answers the `since` to send. */
  beginResync(): number {
    const since = this.since();
    this.replay = { base: { tasks: since, notifications: since }, seen: new Set() };
    return since;
  }

  /** Where a resync starts: the smallest last_seq of the channels. */
  since(): number {
    return Math.min(...CHANNELS.map((c) => this.last[c]));
  }

  /** A resync answered with has_more=false: everything up to next_since is known. */
  caughtUp(nextSince: number): void {
    this.replay = null;
    for (const c of CHANNELS) this.last[c] = Math.max(this.last[c], nextSince);
  }

  reset(seq: number): void {
    this.replay = null;
    for (const c of CHANNELS) this.last[c] = seq;
  }
}
