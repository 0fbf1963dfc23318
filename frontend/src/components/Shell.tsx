import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { tinykeys } from "tinykeys";
import { Link, Route, Switch, useLocation, useRoute } from "wouter";
import { api, unwrap } from "../api/client";
import { logout, type Session } from "../auth/session";
import { buildCommands } from "../commands";
import { toast, useStore } from "../lib/store";
import { ApiError } from "../api/errors";
import { setInboxProjectId, VIEWS } from "../tasks/params";
import { useEngine } from "../tasks/useEngine";
import { TaskListPage } from "../pages/TaskListPage";
import { AgendaPage } from "../pages/AgendaPage";
import { SyncStatus } from "./SyncStatus";
import { Bell as BellIcon, Menu } from "lucide-react";
import { setProfileZone } from "../lib/dates";

const CommandPalette = lazy(() => import("./CommandPalette"));
const NotificationsPage = lazy(() => import("../pages/NotificationsPage"));
const SettingsPage = lazy(() => import("../pages/SettingsPage"));
const AssistantPage = lazy(() => import("../pages/AssistantPage"));
const ActivityPage = lazy(() => import("../pages/ActivityPage"));

function useTheme(): [string, () => void] {
  const [theme, setTheme] = useState(() => localStorage.getItem("taskbeat.theme") ?? "auto");
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("taskbeat.theme", theme);
  }, [theme]);
  const toggle = useCallback(() => {
    setTheme((t) => {
      const dark = t === "dark" || (t === "auto" && matchMedia("(prefers-color-scheme: dark)").matches);
      return dark ? "light" : "dark";
    });
  }, []);
  return [theme, toggle];
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

function focusedRow(): HTMLElement | null {
  return (document.activeElement as HTMLElement | null)?.closest<HTMLElement>("[data-task-id]") ?? null;
}

export function useCounts() {
  return useQuery({
    queryKey: ["counts"],
    queryFn: async () => unwrap(await api.GET("/api/views/counts")),
    staleTime: 15_000,
  });
}

export function useProjects() {
  return useQuery({
    queryKey: ["projects"],
    queryFn: async () => unwrap(await api.GET("/api/projects", { params: { query: { archived: "false" } as never } })) as unknown as { results?: Project[] } | Project[],
    select: (data) => (Array.isArray(data) ? data : (data.results ?? [])),
  });
}

export interface Project {
  id: string;
  name: string;
  color: string;
  is_inbox: boolean;
  parent_id: string | null;
}

function Bell() {
  const { data } = useQuery({
    queryKey: ["unread"],
    queryFn: async () => unwrap(await api.GET("/api/notifications/unread-count")),
  });
  const unread = data?.unread ?? 0;
  return (
    <Link href="/notifications" className="bell" aria-label={`Notifications, ${unread} unread`} data-testid="bell">
      <BellIcon aria-hidden="true" size={18} />
      {unread > 0 ? (
        <span className="badge" aria-hidden="true" data-testid="unread-count">
          {unread}
        </span>
      ) : null}
    </Link>
  );
}

export function Shell({ session }: { session: Session }) {
  const [location, navigate] = useLocation();
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const [, toggleTheme] = useTheme();
  const engine = useEngine();
  const qc = useQueryClient();
  const counts = useCounts();
  const projects = useProjects();
  const inboxId = (projects.data ?? []).find((p) => p.is_inbox)?.id;
  useEffect(() => setInboxProjectId(inboxId), [inboxId]);
  const viewCount = (id: string): number | undefined => (counts.data as Record<string, unknown> | undefined)?.[id] as number | undefined;
  const filters = useQuery({ queryKey: ["filters"], queryFn: async () => unwrap(await api.GET("/api/filters")).results });
  const online = useStore(engine.online);
  // The profile's zone drives every date shown or typed (lib/dates.ts).
  const me = useQuery({ queryKey: ["me"], queryFn: async () => unwrap(await api.GET("/api/me")) });
  useEffect(() => setProfileZone(me.data?.timezone), [me.data?.timezone]);

  const signOut = useCallback(async () => {
    const pending = engine.pending.get().length;
    if (pending && !confirm(`${pending} change(s) are not synced yet and will be lost. Log out anyway?`)) return;
    engine.stop();
    qc.clear();
    await logout();
    navigate("/");
  }, [engine, qc, navigate]);

  const newProject = useCallback(async () => {
    const name = prompt("Project name");
    if (!name?.trim()) return;
    const result = await api.POST("/api/projects", { body: { name: name.trim() } as never, headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (!result.response.ok) {
      toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
      return;
    }
    await qc.invalidateQueries({ queryKey: ["projects"] });
    const created = result.data as unknown as { id?: string };
    if (created?.id) navigate(`/projects/${created.id}`);
  }, [qc, navigate]);

  const commands = useMemo(
    () =>
      buildCommands({
        navigate: (path) => {
          navigate(path);
          setMenuOpen(false);
        },
        openPalette: () => setPaletteOpen(true),
        focusQuickAdd: () => document.getElementById("quick-add-input")?.focus(),
        focusSearch: () => document.getElementById("task-search")?.focus(),
        focusedTask: () => {
          const row = focusedRow();
          if (!row) return null;
          const click = (name: string) => () => row.querySelector<HTMLElement>(`[data-action="${name}"]`)?.click();
          return { toggle: click("toggle"), edit: click("edit"), remove: click("delete") };
        },
        moveFocus: (delta) => {
          const rows = [...document.querySelectorAll<HTMLElement>("[data-task-id] [data-action='edit']")];
          if (!rows.length) return;
          const current = focusedRow()?.querySelector<HTMLElement>("[data-action='edit']");
          const index = current ? rows.indexOf(current) : -1;
          rows[Math.max(0, Math.min(rows.length - 1, index + delta))]?.focus();
        },
        logout: () => void signOut(),
        toggleTheme,
        savedFilters: (filters.data ?? []).map((f) => ({ id: f.id, name: f.name })),
      }),
    [navigate, signOut, toggleTheme, filters.data],
  );

  useEffect(() => {
    const bindings: Record<string, (e: KeyboardEvent) => void> = {};
    for (const command of commands) {
      if (!command.shortcut) continue;
      bindings[command.shortcut] = (event) => {
        if (!command.global && isTyping(event.target)) return;
        if (document.querySelector("[role='dialog']") && !command.global) return;
        event.preventDefault();
        command.run();
      };
    }
    return tinykeys(window, bindings);
  }, [commands]);

  const [onFilter, filterParams] = useRoute<{ id: string }>("/filters/:id");
  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <button type="button" className="icon-button menu-toggle" aria-expanded={menuOpen} aria-controls="sidebar" onClick={() => setMenuOpen((o) => !o)}>
          <Menu aria-hidden="true" size={20} />
          <span className="visually-hidden">Menu</span>
        </button>
        <Link href="/" className="brand">
          Taskbeat
        </Link>
        <div className="topbar-right">
          <SyncStatus />
          <button type="button" className="palette-button" onClick={() => setPaletteOpen(true)} aria-keyshortcuts="Control+K Meta+K">
            Commands <kbd>Ctrl K</kbd>
          </button>
          <Bell />
          <span className="user-name" aria-label="Signed in as">
            {session.username}
          </span>
          <button type="button" className="link-button" onClick={() => void signOut()}>
            Log out
          </button>
        </div>
      </header>
      <nav id="sidebar" className={`sidebar ${menuOpen ? "open" : ""}`} aria-label="Lists">
        <ul>
          {VIEWS.map((view) => (
            <li key={view.id}>
              <Link href={view.path} className={location === view.path ? "active" : ""} aria-current={location === view.path ? "page" : undefined} onClick={() => setMenuOpen(false)}>
                <span>{view.title}</span>
                {viewCount(view.id) !== undefined ? <span className="count" aria-label={`${viewCount(view.id)} tasks`}>{viewCount(view.id)}</span> : null}
              </Link>
            </li>
          ))}
        </ul>
        <h2 className="sidebar-heading">Projects</h2>
        <ul>
          {(projects.data ?? [])
            .filter((p) => !p.is_inbox)
            .map((p) => (
              <li key={p.id}>
                <Link href={`/projects/${p.id}`} aria-current={location === `/projects/${p.id}` ? "page" : undefined} onClick={() => setMenuOpen(false)}>
                  <span className="label">
                    <span className="project-dot" style={{ background: p.color || "#888" }} aria-hidden="true" />
                    {p.parent_id ? "↳ " : ""}
                    {p.name}
                  </span>
                  {counts.data?.projects?.[p.id] !== undefined ? <span className="count">{counts.data.projects[p.id]}</span> : null}
                </Link>
              </li>
            ))}
          {projects.isSuccess && (projects.data ?? []).filter((p) => !p.is_inbox).length === 0 ? <li className="muted small">No projects yet.</li> : null}
          <li>
            <button type="button" className="link-button" onClick={() => void newProject()}>
              + New project
            </button>
          </li>
        </ul>
        <h2 className="sidebar-heading">Saved filters</h2>
        <ul>
          {(filters.data ?? []).map((f) => (
            <li key={f.id}>
              <Link href={`/filters/${f.id}`} aria-current={location === `/filters/${f.id}` ? "page" : undefined} onClick={() => setMenuOpen(false)}>
                {f.name}
              </Link>
            </li>
          ))}
          {filters.data?.length === 0 ? <li className="muted small">None yet: filter a list, then “Save filter”.</li> : null}
        </ul>
        <ul>
          <li>
            <Link href="/notifications" aria-current={location === "/notifications" ? "page" : undefined}>Notifications</Link>
          </li>
          <li>
            <Link href="/assistant" aria-current={location === "/assistant" ? "page" : undefined}>Assistant</Link>
          </li>
          <li>
            <Link href="/activity" aria-current={location === "/activity" ? "page" : undefined}>Activity</Link>
          </li>
          <li>
            <Link href="/settings" aria-current={location === "/settings" ? "page" : undefined}>Settings</Link>
          </li>
        </ul>
        {!online ? <p className="offline-note">Offline: changes are saved on this device and sent when you are back.</p> : null}
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <Switch>
            {VIEWS.map((view) => (
              <Route key={view.id} path={view.path}>
                {view.agenda ? (
                  <AgendaPage view={view.agenda} title={view.title} />
                ) : (
                  <TaskListPage scope={view.id} title={view.title} baseParams={view.params()} quickAdd={view.id === "inbox"} />
                )}
              </Route>
            ))}
            <Route path="/projects/:id">
              {(p) => {
                const project = (projects.data ?? []).find((x) => x.id === p.id);
                return (
                  <TaskListPage key={p.id} scope={`project-${p.id}`} title={project?.name ?? "Project"} baseParams={{ status: "active", project: p.id, parent: "none" }} projectId={p.id} />
                );
              }}
            </Route>
            <Route path="/filters/:id">
              {onFilter && filterParams ? <FilterPage id={Number(filterParams.id)} /> : null}
            </Route>
            <Route path="/tasks/:id">{(p) => <TaskListPage scope="inbox" title="Inbox" baseParams={VIEWS[0].params()} quickAdd openTaskId={p.id} />}</Route>
            <Route path="/notifications" component={NotificationsPage} />
            <Route path="/settings" component={SettingsPage} />
            <Route path="/assistant" component={AssistantPage} />
            <Route path="/activity" component={ActivityPage} />
            <Route>
              <h1>Not found</h1>
              <p>
                <Link href="/">Back to the Inbox</Link>
              </p>
            </Route>
          </Switch>
        </Suspense>
      </main>
      {paletteOpen ? (
        <Suspense fallback={null}>
          <CommandPalette commands={commands} onClose={() => setPaletteOpen(false)} />
        </Suspense>
      ) : null}
    </div>
  );
}

function FilterPage({ id }: { id: number }) {
  const { data, isError } = useQuery({
    queryKey: ["filter", id],
    queryFn: async () => unwrap(await api.GET("/api/filters/{filter_id}", { params: { path: { filter_id: id } } })),
  });
  if (isError) return <p role="alert">This saved filter does not exist.</p>;
  if (!data) return <p className="muted">Loading…</p>;
  return <TaskListPage key={id} scope="filter" filterId={id} title={data.name} baseParams={{}} savedParams={data.params as Record<string, string>} />;
}
