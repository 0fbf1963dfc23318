/**
 * The one command registry: every keyboard shortcut and every command-palette
 * entry comes from here (a unit test fails a command that has neither).
 * Shortcuts use tinykeys' syntax ("$mod+k", "g i").
 */
export interface Command {
  id: string;
  title: string;
  group: "Navigate" | "Tasks" | "App";
  shortcut?: string;
  palette: boolean;
  run: () => void;
  /** Runs even while typing in a field. */
  global?: boolean;
}

export interface CommandContext {
  navigate: (path: string) => void;
  openPalette: () => void;
  focusQuickAdd: () => void;
  focusSearch: () => void;
  focusedTask: () => { toggle: () => void; edit: () => void; remove: () => void } | null;
  moveFocus: (delta: number) => void;
  logout: () => void;
  toggleTheme: () => void;
  savedFilters: { id: number; name: string }[];
}

export function buildCommands(ctx: CommandContext): Command[] {
  const onTask = (fn: (t: NonNullable<ReturnType<CommandContext["focusedTask"]>>) => void) => () => {
    const task = ctx.focusedTask();
    if (task) fn(task);
  };
  const commands: Command[] = [
    { id: "palette", title: "Open command palette", group: "App", shortcut: "$mod+k", palette: false, run: ctx.openPalette, global: true },
    { id: "quick-add", title: "Add a task", group: "Tasks", shortcut: "q", palette: true, run: ctx.focusQuickAdd },
    { id: "search", title: "Search tasks", group: "Tasks", shortcut: "/", palette: true, run: ctx.focusSearch },
    { id: "next", title: "Focus next task", group: "Tasks", shortcut: "j", palette: false, run: () => ctx.moveFocus(1) },
    { id: "previous", title: "Focus previous task", group: "Tasks", shortcut: "k", palette: false, run: () => ctx.moveFocus(-1) },
    { id: "toggle", title: "Complete or reopen the focused task", group: "Tasks", shortcut: "x", palette: true, run: onTask((t) => t.toggle()) },
    { id: "edit", title: "Edit the focused task", group: "Tasks", shortcut: "e", palette: true, run: onTask((t) => t.edit()) },
    { id: "delete", title: "Delete the focused task", group: "Tasks", shortcut: "Shift+D", palette: true, run: onTask((t) => t.remove()) },
    { id: "go-inbox", title: "Go to Inbox", group: "Navigate", shortcut: "g i", palette: true, run: () => ctx.navigate("/") },
    { id: "go-today", title: "Go to Today", group: "Navigate", shortcut: "g t", palette: true, run: () => ctx.navigate("/today") },
    { id: "go-upcoming", title: "Go to Upcoming", group: "Navigate", shortcut: "g u", palette: true, run: () => ctx.navigate("/upcoming") },
    { id: "go-overdue", title: "Go to Overdue", group: "Navigate", shortcut: "g o", palette: true, run: () => ctx.navigate("/overdue") },
    { id: "go-completed", title: "Go to Completed", group: "Navigate", shortcut: "g c", palette: true, run: () => ctx.navigate("/completed") },
    { id: "go-notifications", title: "Go to Notifications", group: "Navigate", shortcut: "g n", palette: true, run: () => ctx.navigate("/notifications") },
    { id: "go-assistant", title: "Go to Assistant", group: "Navigate", shortcut: "g a", palette: true, run: () => ctx.navigate("/assistant") },
    { id: "go-activity", title: "Go to Activity", group: "Navigate", shortcut: "g y", palette: true, run: () => ctx.navigate("/activity") },
    { id: "go-settings", title: "Go to Settings", group: "Navigate", shortcut: "g s", palette: true, run: () => ctx.navigate("/settings") },
    { id: "theme", title: "Switch light/dark theme", group: "App", shortcut: "Shift+T", palette: true, run: ctx.toggleTheme },
    { id: "logout", title: "Log out", group: "App", palette: true, run: ctx.logout },
  ];
  for (const filter of ctx.savedFilters) {
    commands.push({ id: `filter-${filter.id}`, title: `Open saved filter “${filter.name}”`, group: "Navigate", palette: true, run: () => ctx.navigate(`/filters/${filter.id}`) });
  }
  return commands;
}

/** "$mod+k" → "Ctrl+K" / "⌘K" for display. */
export function shortcutLabel(shortcut: string, mac = /Mac|iPhone|iPad/.test(navigator.platform)): string {
  return shortcut
    .split(" ")
    .map((chord) => chord.replace("$mod", mac ? "⌘" : "Ctrl").replace(/\+(\w)$/, (_m, k: string) => `+${k.toUpperCase()}`))
    .join(" then ");
}
