import { describe, expect, it } from "vitest";
import { dateIn, formatDue, fromZoneInput, isOverdue, toZoneInput } from "../../src/lib/dates";

// The runner's own zone is pinned to something far from the profile zones used here
// (vitest.config / TZ below), so a helper that used the device zone would fail.
describe("dates in the profile's zone, not the device's", () => {
  it("runs in a device zone unlike the profiles'", () => {
    expect(Intl.DateTimeFormat().resolvedOptions().timeZone).toBe("America/Los_Angeles");
  });

  it("shows an instant as wall time of the profile's zone", () => {
    expect(toZoneInput("2030-01-07T08:00:00Z", "Europe/Berlin")).toBe("2030-01-07T09:00");
    expect(toZoneInput("2030-07-07T08:00:00Z", "Europe/Berlin")).toBe("2030-07-07T10:00");
    expect(toZoneInput("2030-01-07T08:00:00Z", "Asia/Kolkata")).toBe("2030-01-07T13:30");
    expect(toZoneInput("2030-01-07T08:00:00Z", "UTC")).toBe("2030-01-07T08:00");
  });

  it("reads typed wall time in the profile's zone", () => {
    expect(fromZoneInput("2030-01-07T09:00", "Europe/Berlin")).toBe("2030-01-07T08:00:00.000Z");
    expect(fromZoneInput("2030-07-07T10:00", "Europe/Berlin")).toBe("2030-07-07T08:00:00.000Z");
    expect(fromZoneInput("2030-01-07T13:30", "Asia/Kolkata")).toBe("2030-01-07T08:00:00.000Z");
    expect(fromZoneInput("", "Europe/Berlin")).toBeNull();
  });

  it("round-trips across a zone's DST changes", () => {
    for (const iso of ["2030-03-31T00:30:00.000Z", "2030-03-31T01:30:00.000Z", "2030-10-27T00:30:00.000Z", "2030-10-27T01:30:00.000Z"]) {
      const wall = toZoneInput(iso, "Europe/Berlin");
      const back = fromZoneInput(wall, "Europe/Berlin")!;
      expect(toZoneInput(back, "Europe/Berlin")).toBe(wall);
    }
    // The repeated hour when clocks go back: the earlier instant.
    expect(fromZoneInput("2030-10-27T02:30", "Europe/Berlin")).toBe("2030-10-27T00:30:00.000Z");
    // A time skipped when clocks go forward moves on by the jump.
    expect(fromZoneInput("2030-03-31T02:30", "Europe/Berlin")).toBe("2030-03-31T01:30:00.000Z");
  });

  it("formats a due time in the profile's zone", () => {
    const task = { due_at: "2030-01-07T03:32:00Z", due_date: null };
    expect(formatDue(task, "Europe/Berlin")).toMatch(/04:32/);
    expect(formatDue(task, "UTC")).toMatch(/03:32/);
    expect(formatDue({ due_at: null, due_date: "2030-01-07" }, "Pacific/Kiritimati")).toMatch(/7/);
  });

  it("decides today and overdue by the profile's calendar", () => {
    const now = new Date("2030-01-07T23:30:00Z"); // already the 8th in Berlin, still the 7th in Los Angeles
    expect(dateIn(now, "Europe/Berlin")).toBe("2030-01-08");
    expect(dateIn(now, "America/Los_Angeles")).toBe("2030-01-07");
    expect(isOverdue({ due_at: null, due_date: "2030-01-07" }, now, "Europe/Berlin")).toBe(true);
    expect(isOverdue({ due_at: null, due_date: "2030-01-07" }, now, "America/Los_Angeles")).toBe(false);
  });
});
