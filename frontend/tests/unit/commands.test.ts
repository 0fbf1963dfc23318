import { describe, expect, it } from "vitest";
import { buildCommands, shortcutLabel, type CommandContext } from "../../src/commands";

const noop = () => {};
const ctx: CommandContext = {
  navigate: noop, openPalette: noop, focusQuickAdd: noop, focusSearch: noop, focusedTask: () => null, moveFocus: noop,
  logout: noop, toggleTheme: noop, savedFilters: [{ id: 1, name: "Urgent" }],
};

describe("command registry", () => {
  const commands = buildCommands(ctx);

  it("gives every command a shortcut or a palette entry", () => {
    const unreachable = commands.filter((c) => !c.shortcut && !c.palette).map((c) => c.id);
    expect(unreachable).toEqual([]);
  });

  it("binds no shortcut twice and names commands uniquely", () => {
    const shortcuts = commands.flatMap((c) => (c.shortcut ? [c.shortcut] : []));
    expect(new Set(shortcuts).size).toBe(shortcuts.length);
    expect(new Set(commands.map((c) => c.id)).size).toBe(commands.length);
  });

  it("lists saved filters in the palette", () => {
    expect(commands.find((c) => c.id === "filter-1")?.palette).toBe(true);
  });

  it("shows shortcuts for the platform", () => {
    expect(shortcutLabel("$mod+k", false)).toBe("Ctrl+K");
    expect(shortcutLabel("$mod+k", true)).toBe("⌘+K");
    expect(shortcutLabel("g i", false)).toBe("g then i");
  });
});
