import { lazy, memo, Suspense, useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from "react";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  TouchSensor,
  closestCenter,
  useSensor,
  useSensors,
  type DragEndEvent,
  type Announcements,
} from "@dnd-kit/core";
import { SortableContext, arrayMove, sortableKeyboardCoordinates, verticalListSortingStrategy } from "@dnd-kit/sortable";
import { useLocation } from "wouter";
import { api, unwrap, type Task, type TaskPage } from "../api/client";
import { toast } from "../lib/store";
import { allTasks, taskListKey, type TaskPages } from "../tasks/cache";
import { cleanParams, type ListParams } from "../tasks/params";
import { useEngine } from "../tasks/useEngine";
import { QuickAdd } from "../components/QuickAdd";
import { TaskRow } from "../components/TaskRow";
import { FilterBar } from "../components/FilterBar";
import { NewSection, SectionedList } from "../components/SectionedList";
import { useSections } from "../tasks/sections";
import { ProjectTools } from "../components/ProjectTools";

const TaskEditor = lazy(() => import("../components/TaskEditor"));
const PAGE = 100;

interface Props {
  scope: string;
  title: string;
  baseParams: ListParams;
  savedParams?: Record<string, string>;
  filterId?: number;
  quickAdd?: boolean;
  openTaskId?: string;
  /** A project's page: its sections group the list. */
  projectId?: string;
}

export function TaskListPage({ scope, title, baseParams, savedParams, filterId, quickAdd, openTaskId, projectId }: Props) {
  const sections = useSections(projectId);
  const sectioned = Boolean(projectId && sections.data?.length);
  const [filters, setFilters] = useState<ListParams>(savedParams ? (savedParams as ListParams) : {});
  const deferredFilters = useDeferredValue(filters);
  const params = useMemo(() => cleanParams({ ...baseParams, ...deferredFilters }), [baseParams, deferredFilters]);
  const [, navigate] = useLocation();
  const [editing, setEditing] = useState<string | null>(openTaskId ?? null);
  useEffect(() => setEditing(openTaskId ?? null), [openTaskId]);
  const qc = useQueryClient();

  const query = useInfiniteQuery({
    queryKey: taskListKey(filterId ? `filter-${filterId}` : scope, params),
    initialPageParam: 1 as number,
    queryFn: async ({ pageParam }): Promise<TaskPage> => {
      const query = { ...params, page: pageParam, limit: PAGE } as never;
      if (filterId) return unwrap(await api.GET("/api/filters/{filter_id}/tasks", { params: { path: { filter_id: filterId }, query } }));
      return unwrap(await api.GET("/api/tasks", { params: { query } }));
    },
    getNextPageParam: (last, pages) => (last.next ? pages.length + 1 : undefined),
  });
  const tasks = useMemo(() => allTasks(query.data as TaskPages | undefined), [query.data]);
  const total = query.data?.pages[0]?.count ?? 0;
  const manualOrder = !params.q && (!params.sort_by || params.sort_by === "position");

  async function saveFilter() {
    const name = prompt("Name this filter");
    if (!name) return;
    const body = { name, params: cleanParams({ ...baseParams, ...filters }) as Record<string, string> };
    const result = await api.POST("/api/filters", { body: body as never, headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (result.error || !result.data) {
      toast(`Could not save the filter: ${(result.error as { error?: { message?: string } })?.error?.message ?? "error"}`, { tone: "error" });
      return;
    }
    await qc.invalidateQueries({ queryKey: ["filters"] });
    navigate(`/filters/${result.data.id}`);
  }

  const open = useCallback((task: Task) => setEditing(task.id), []);
  return (
    <section className="task-page" aria-labelledby="list-title">
      <div className="list-header">
        <h1 id="list-title">{title}</h1>
        {projectId ? <ProjectTools key={title} projectId={projectId} name={title} /> : null}
        <span className="muted" data-testid="list-count">
          {query.isSuccess ? `${total} ${total === 1 ? "task" : "tasks"}` : ""}
        </span>
      </div>
      {quickAdd ? <QuickAdd /> : projectId ? <QuickAdd project={{ id: projectId, name: title }} /> : null}
      <FilterBar value={filters} onChange={setFilters} onSave={() => void saveFilter()} />
      {query.isError && !query.data ? (
        <p role="alert" className="form-error">
          Could not load tasks: {(query.error as Error).message}
        </p>
      ) : null}
      {sectioned && projectId ? (
        <>
          <SectionedList projectId={projectId} sections={sections.data ?? []} tasks={tasks} manualOrder={manualOrder} onOpen={open} />
          {query.hasNextPage ? (
            <button type="button" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
              Load more tasks
            </button>
          ) : null}
        </>
      ) : (
      <VirtualTaskList
        tasks={tasks}
        title={title}
        manualOrder={manualOrder}
        empty={query.isSuccess && tasks.length === 0 ? `Nothing here. ${quickAdd ? "Add a task above." : ""}` : null}
        hasNextPage={Boolean(query.hasNextPage)}
        isFetchingNextPage={query.isFetchingNextPage}
        fetchNextPage={query.fetchNextPage}
        onOpen={open}
      />
      )}
      {projectId && !sectioned && sections.isSuccess ? <NewSection projectId={projectId} /> : null}
      {editing ? (
        <Suspense fallback={null}>
          <TaskEditor
            taskId={editing}
            onClose={() => {
              setEditing(null);
              if (openTaskId) navigate("/");
            }}
          />
        </Suspense>
      ) : null}
    </section>
  );
}

interface ListProps {
  tasks: Task[];
  title: string;
  manualOrder: boolean;
  empty: string | null;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
  onOpen: (task: Task) => void;
}

/** The virtualised, sortable list: only the rows in view (plus overscan) are in the DOM. */
const VirtualTaskList = memo(function VirtualTaskList({ tasks, title, manualOrder, empty, hasNextPage, isFetchingNextPage, fetchNextPage, onOpen }: ListProps) {
  const engine = useEngine();
  const open = onOpen;
  const ids = useMemo(() => tasks.map((t) => t.id), [tasks]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: tasks.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 56,
    overscan: 12,
    getItemKey: (index) => tasks[index]?.id ?? index,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  useEffect(() => {
    if (lastIndex >= tasks.length - 20 && hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [lastIndex, tasks.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 200, tolerance: 6 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const titleOf = (id: unknown) => tasks.find((t) => t.id === id)?.title ?? "task";
  const indexOf = (id: unknown) => tasks.findIndex((t) => t.id === id) + 1;
  const announcements: Announcements = {
    onDragStart: ({ active }) => `Picked up “${titleOf(active.id)}”, position ${indexOf(active.id)} of ${tasks.length}.`,
    onDragOver: ({ active, over }) => (over ? `“${titleOf(active.id)}” is over position ${indexOf(over.id)}.` : `“${titleOf(active.id)}” is not over a position.`),
    onDragEnd: ({ active, over }) => (over ? `Dropped “${titleOf(active.id)}” at position ${indexOf(over.id)}.` : `Dropped “${titleOf(active.id)}”.`),
    onDragCancel: ({ active }) => `Moving “${titleOf(active.id)}” cancelled.`,
  };

  function onDragEnd(event: DragEndEvent) {
    const { active, over } = event;
    if (!over || active.id === over.id) return;
    const from = tasks.findIndex((t) => t.id === active.id);
    const to = tasks.findIndex((t) => t.id === over.id);
    const moved = arrayMove(tasks, from, to);
    // Only the span between the two slots changes; the server keeps the rest.
    const [lo, hi] = [Math.min(from, to), Math.max(from, to)];
    void engine.reorder(moved.slice(lo, hi + 1).map((t) => t.id));
  }

  return (
      <div ref={scrollRef} className="task-scroll" data-testid="task-scroll">
        {empty ? <p className="empty">{empty}</p> : null}
        <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd} accessibility={{ announcements }}>
          <SortableContext items={ids} strategy={verticalListSortingStrategy} disabled={!manualOrder}>
            <div role="list" aria-label={`${title} tasks`} className="task-list" style={{ height: virtualizer.getTotalSize() }}>
              {items.map((item) => {
                const task = tasks[item.index];
                if (!task) return null;
                return (
                  <TaskRow
                    key={item.key}
                    task={task}
                    top={item.start}
                    measure={virtualizer.measureElement}
                    index={item.index}
                    sortable={manualOrder}
                    onOpen={open}
                  />
                );
              })}
            </div>
          </SortableContext>
        </DndContext>
        {isFetchingNextPage ? <p className="muted small">Loading more…</p> : null}
      </div>
  );
});
