import { beforeEach, describe, expect, it } from "vitest";
import { openDB } from "idb";
import { ApiError } from "../../src/api/errors";
import { httpSender, Outbox, type OutboxEntry, type SendResult } from "../../src/offline/outbox";

let n = 0;
async function freshDb() {
  n += 1;
  return openDB(`outbox-test-${n}`, 1, {
    upgrade(db) {
      db.createObjectStore("outbox", { keyPath: "key" });
      db.createObjectStore("meta");
      db.createObjectStore("cache");
    },
  });
}

/** A fake server that records what arrives and answers like the API. */
function server(answers: (entry: OutboxEntry, calls: OutboxEntry[]) => SendResult) {
  const calls: OutboxEntry[] = [];
  return { calls, send: async (entry: OutboxEntry) => (calls.push(entry), answers(entry, calls)) };
}
const ok = (data: unknown): SendResult => ({ kind: "ok", status: 200, data, headers: new Headers() });

describe("Outbox", () => {
  let db: Awaited<ReturnType<typeof freshDb>>;
  beforeEach(async () => {
    db = await freshDb();
  });

  it("keeps writes made offline, survives a new instance (reload) and replays them once, in order", async () => {
    let online = false;
    const fake = server((entry) => (online ? ok({ id: entry.path.split("/").at(-1), version: 2 }) : { kind: "network" }));
    const first = new Outbox(db, fake.send);
    await first.enqueue({ key: "k1", method: "PATCH", path: "/api/tasks/a", body: { title: "one" }, label: "1" });
    await first.enqueue({ key: "k2", method: "PATCH", path: "/api/tasks/b", body: { title: "two" }, label: "2" });
    expect((await first.flush()).stopped).toBe("network");
    expect(await first.pending()).toHaveLength(2);

    online = true;
    const reloaded = new Outbox(db, fake.send); // same IndexedDB, new page
    const result = await reloaded.flush();
    expect(result).toEqual({ sent: 2, rejected: 0, stopped: null });
    // Offline the first attempt stopped the run; online both went, in order, once.
    expect(fake.calls.map((c) => c.key)).toEqual(["k1", "k1", "k2"]);
    expect(await reloaded.pending()).toHaveLength(0);
    await reloaded.flush();
    expect(fake.calls).toHaveLength(3);
  });

  it("reuses the same Idempotency-Key on every retry of one change", async () => {
    let fail = 2;
    const fake = server(() => (fail-- > 0 ? { kind: "error", error: new ApiError(503, null) } : ok({ id: "a", version: 2 })));
    const outbox = new Outbox(db, fake.send);
    await outbox.enqueue({ key: "same", method: "PATCH", path: "/api/tasks/a", body: {}, label: "x" });
    expect((await outbox.flush()).stopped).toBe("retry");
    expect((await outbox.flush()).stopped).toBe("retry");
    expect((await outbox.flush()).sent).toBe(1);
    expect(new Set(fake.calls.map((c) => c.key))).toEqual(new Set(["same"]));
  });

  it("drops a refused write, tells the app, and goes on with the next", async () => {
    const rejected: string[] = [];
    const fake = server((entry) =>
      entry.key === "bad" ? { kind: "error", error: new ApiError(400, { error: { code: "validation_error", message: "Invalid input." } }) } : ok({ id: "a", version: 3 }),
    );
    const outbox = new Outbox(db, fake.send, { rejected: (e, err) => rejected.push(`${e.key}:${err.code}`) });
    await outbox.enqueue({ key: "bad", method: "PATCH", path: "/api/tasks/a", body: { priority: "urgent" }, label: "x" });
    await outbox.enqueue({ key: "good", method: "PATCH", path: "/api/tasks/a", body: { title: "t" }, label: "y" });
    expect(await outbox.flush()).toEqual({ sent: 1, rejected: 1, stopped: null });
    expect(rejected).toEqual(["bad:validation_error"]);
  });

  it("rewrites a temporary id once the create is answered, and chains versions of own edits", async () => {
    const fake = server((entry) => {
      if (entry.path === "/api/tasks/quick") return ok({ id: "real-1", version: 1 });
      return ok({ id: "real-1", version: 2 });
    });
    const outbox = new Outbox(db, fake.send);
    await outbox.enqueue({ key: "c", method: "POST", path: "/api/tasks/quick", body: { text: "Buy milk" }, label: "add", createsTempId: "tmp-1234abcd", taskRef: "tmp-1234abcd" });
    await outbox.enqueue({ key: "e", method: "PATCH", path: "/api/tasks/tmp-1234abcd", body: { is_completed: true, version: 0 }, label: "done", taskRef: "tmp-1234abcd" });
    await outbox.flush();
    expect(fake.calls.map((c) => c.path)).toEqual(["/api/tasks/quick", "/api/tasks/real-1"]);
    expect(fake.calls[1].body).toMatchObject({ is_completed: true, version: 1 });
  });

  it("drops changes to a task whose create was refused", async () => {
    const rejected: string[] = [];
    const fake = server((entry) =>
      entry.path === "/api/tasks/quick" ? { kind: "error", error: new ApiError(400, { error: { code: "validation_error", message: "The text is empty." } }) } : ok({}),
    );
    const outbox = new Outbox(db, fake.send, { rejected: (e) => rejected.push(e.key) });
    await outbox.enqueue({ key: "c", method: "POST", path: "/api/tasks/quick", body: { text: "tomorrow" }, label: "add", createsTempId: "tmp-99", taskRef: "tmp-99" });
    await outbox.enqueue({ key: "e", method: "DELETE", path: "/api/tasks/tmp-99", label: "delete", taskRef: "tmp-99" });
    await outbox.flush();
    expect(rejected).toEqual(["c", "e"]);
    expect(fake.calls).toHaveLength(1);
  });

  it("holds a delayed write until its time, and can cancel it (undo)", async () => {
    const fake = server(() => ok(null));
    const outbox = new Outbox(db, fake.send);
    await outbox.enqueue({ key: "d", method: "DELETE", path: "/api/tasks/a", label: "delete", notBefore: 10_000 });
    await outbox.flush(() => 5_000);
    expect(fake.calls).toHaveLength(0);
    expect(await outbox.cancel("d")).toBe(true);
    await outbox.flush(() => 20_000);
    expect(fake.calls).toHaveLength(0);
  });

  it("sends a write enqueued during a run in a follow-up run, not at the next timer", async () => {
    const calls: string[] = [];
    let followUp: Promise<unknown> = Promise.resolve();
    const outbox: Outbox = new Outbox(db, async (entry) => {
      calls.push(entry.key);
      if (entry.key === "first") {
        await outbox.enqueue({ key: "second", method: "PATCH", path: "/api/tasks/b", body: {}, label: "y" });
        followUp = outbox.flush(); // what the app does right after enqueueing
      }
      return ok({ id: entry.key, version: 2 });
    });
    await outbox.enqueue({ key: "first", method: "PATCH", path: "/api/tasks/a", body: {}, label: "x" });
    await outbox.flush();
    await followUp;
    expect(calls).toEqual(["first", "second"]);
  });

  it("shares one run between concurrent flushes (no double send)", async () => {
    const fake = server(() => ok({ id: "a", version: 2 }));
    const outbox = new Outbox(db, fake.send);
    await outbox.enqueue({ key: "once", method: "PATCH", path: "/api/tasks/a", body: {}, label: "x" });
    await Promise.all([outbox.flush(), outbox.flush(), outbox.flush()]);
    expect(fake.calls).toHaveLength(1);
  });
});

describe("httpSender", () => {
  it("sends the Idempotency-Key and maps answers to ok / error / network", async () => {
    const seen: Request[] = [];
    const send = httpSender(async (request) => {
      seen.push(request);
      if (request.url.endsWith("/down")) throw new TypeError("Failed to fetch");
      if (request.url.endsWith("/bad")) return new Response(JSON.stringify({ error: { code: "version_conflict", message: "stale", details: { winner: "server" } } }), { status: 409 });
      return new Response(JSON.stringify({ id: "a" }), { status: 200 });
    });
    const base = { order: 1, attempts: 0, createdAt: "", label: "", method: "PATCH" as const, body: {} };
    const good = await send({ ...base, key: "k-1", path: "http://x/api/tasks/a" });
    expect(good).toMatchObject({ kind: "ok", data: { id: "a" } });
    expect(seen[0].headers.get("Idempotency-Key")).toBe("k-1");
    const bad = await send({ ...base, key: "k-2", path: "http://x/api/tasks/bad" });
    expect(bad.kind === "error" && bad.error.code).toBe("version_conflict");
    expect(bad.kind === "error" && bad.error.details).toEqual({ winner: "server" });
    expect((await send({ ...base, key: "k-3", path: "http://x/down" })).kind).toBe("network");
  });
});
