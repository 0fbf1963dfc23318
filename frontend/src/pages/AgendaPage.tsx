import { lazy, Suspense, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Task } from "../api/client";
import { TaskRow } from "../components/TaskRow";
import { QuickAdd } from "../components/QuickAdd";
import { formatDate } from "../lib/dates";

const TaskEditor = lazy(() => import("../components/TaskEditor"));

interface Group {
  key: string;
  title: string;
  tasks: Task[];
}

const dayTitle = (date: string) => formatDate(date, "long");

async function load(view: "today" | "upcoming" | "overdue"): Promise<{ groups: Group[]; date: string }> {
  if (view === "today") {
    const data = unwrap(await api.GET("/api/views/today", { params: { query: { limit: 200 } as never } }));
    return { date: data.date, groups: [{ key: "overdue", title: "Overdue", tasks: data.overdue }, { key: "today", title: "Today", tasks: data.today }] };
  }
  if (view === "upcoming") {
    const data = unwrap(await api.GET("/api/views/upcoming", { params: { query: { days: 7, limit: 200 } as never } }));
    return { date: data.start, groups: data.days.map((d) => ({ key: d.date, title: dayTitle(d.date), tasks: d.tasks })) };
  }
  const data = unwrap(await api.GET("/api/views/overdue", { params: { query: { limit: 200 } as never } })) as unknown as { date: string; results: Task[] };
  return { date: data.date, groups: [{ key: "overdue", title: "Overdue", tasks: data.results }] };
}

/** Today / Upcoming / Overdue, grouped and ordered by the server (GET /api/views/*, in the profile's zone). */
export function AgendaPage({ view, title }: { view: "today" | "upcoming" | "overdue"; title: string }) {
  const query = useQuery({ queryKey: ["agenda", view], queryFn: () => load(view) });
  const [editing, setEditing] = useState<string | null>(null);
  const groups = query.data?.groups ?? [];
  const total = groups.reduce((n, g) => n + g.tasks.length, 0);
  return (
    <section className="agenda" aria-labelledby="list-title" tabIndex={-1}>
      <div className="list-header">
        <h1 id="list-title">{title}</h1>
        <span className="muted" data-testid="list-count">
          {query.isSuccess ? `${total} ${total === 1 ? "task" : "tasks"}` : ""}
        </span>
      </div>
      {view === "today" ? <QuickAdd /> : null}
      {query.isError && !query.data ? <p role="alert">Could not load: {(query.error as Error).message}</p> : null}
      {query.isSuccess && total === 0 ? <p className="empty">Nothing due. Enjoy the day.</p> : null}
      {groups
        .filter((g) => g.tasks.length > 0)
        .map((group) => (
          <div key={group.key} className="agenda-group">
            <h2>{group.title}</h2>
            <div role="list" aria-label={`${group.title} tasks`}>
              {group.tasks.map((task, index) => (
                <TaskRow key={task.id} task={task} index={index} measure={() => {}} sortable={false} onOpen={(t) => setEditing(t.id)} />
              ))}
            </div>
          </div>
        ))}
      {editing ? (
        <Suspense fallback={null}>
          <TaskEditor taskId={editing} onClose={() => setEditing(null)} />
        </Suspense>
      ) : null}
    </section>
  );
}
