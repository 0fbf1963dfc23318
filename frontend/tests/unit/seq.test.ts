import { describe, expect, it } from "vitest";
import { SeqTracker } from "../../src/sync/seq";

const ev = (channel: "tasks" | "notifications", seq: number, prev_seq: number | null) => ({ channel, seq, prev_seq });

describe("SeqTracker", () => {
  it("applies an event whose prev_seq is the last applied on its channel", () => {
    const t = new SeqTracker(41);
    expect(t.classify(ev("tasks", 42, 41))).toBe("apply");
    t.applied(ev("tasks", 42, 41));
    expect(t.last.tasks).toBe(42);
  });

  it("ignores duplicates and events at or below the last seq", () => {
    const t = new SeqTracker(41);
    t.applied(ev("tasks", 42, 41));
    expect(t.classify(ev("tasks", 42, 41))).toBe("duplicate");
    expect(t.classify(ev("tasks", 40, null))).toBe("duplicate");
  });

  it("finds gaps by prev_seq, not by seq - 1, so other channels' seqs are no gap", () => {
    const t = new SeqTracker(10);
    // seq 11 was a notification (or an unpushed event): tasks' prev_seq still says 10.
    expect(t.classify(ev("tasks", 12, 10))).toBe("apply");
    expect(t.classify(ev("tasks", 14, 12))).toBe("gap");
  });

  it("applies a first event of a channel (prev_seq null)", () => {
    expect(new SeqTracker(5).classify(ev("notifications", 9, null))).toBe("apply");
  });

  it("resyncs from the smallest last seq and, while resyncing, applies each event once whatever the order", () => {
    const t = new SeqTracker({ tasks: 20, notifications: 15 });
    expect(t.beginResync()).toBe(15);
    // A live push overtakes the replayed events.
    expect(t.classify(ev("tasks", 25, 24))).toBe("apply");
    t.applied(ev("tasks", 25, 24));
    expect(t.classify(ev("tasks", 18, 16))).toBe("apply"); // replayed, not a duplicate of 25
    t.applied(ev("tasks", 18, 16));
    expect(t.classify(ev("tasks", 18, 16))).toBe("duplicate");
    expect(t.classify(ev("notifications", 12, null))).toBe("duplicate"); // before the resync's start
    t.caughtUp(26);
    expect(t.resyncing).toBe(false);
    expect(t.last).toEqual({ tasks: 26, notifications: 26 });
    expect(t.classify(ev("tasks", 27, 26))).toBe("apply");
  });
});
