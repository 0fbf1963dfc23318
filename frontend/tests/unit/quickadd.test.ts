import { describe, expect, it } from "vitest";
import { segments } from "../../src/components/QuickAdd";

describe("quick add highlighting", () => {
  it("splits the text into the server's spans and the words around them", () => {
    const text = "Team standup every weekday at 9am #work";
    const spans = [
      { start: 13, end: 26, kind: "recurrence", text: "every weekday" },
      { start: 27, end: 33, kind: "time", text: "at 9am" },
      { start: 34, end: 39, kind: "tag", text: "#work" },
    ];
    expect(segments(text, spans)).toEqual([
      { text: "Team standup " },
      { text: "every weekday", kind: "recurrence" },
      { text: " " },
      { text: "at 9am", kind: "time" },
      { text: " " },
      { text: "#work", kind: "tag" },
    ]);
  });

  it("keeps the text whole when nothing is recognised and skips overlapping spans", () => {
    expect(segments("Call mom", [])).toEqual([{ text: "Call mom" }]);
    expect(segments("abcdef", [{ start: 0, end: 3, kind: "date", text: "abc" }, { start: 2, end: 4, kind: "time", text: "cd" }])).toEqual([
      { text: "abc", kind: "date" },
      { text: "def" },
    ]);
  });
});
