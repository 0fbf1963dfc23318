import { useState, type FormEvent } from "react";
import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  TouchSensor,
  closestCorners,
  useDroppable,
  useSensor,
  useSensors,
  type Announcements,
  type DragEndEvent,
} from "@dnd-kit/core";
import { SortableContext, arrayMove, sortableKeyboardCoordinates, verticalListSortingStrategy } from "@dnd-kit/sortable";
import { ArrowDown, ArrowUp, Pencil, Plus, Trash2 } from "lucide-react";
import type { Task } from "../api/client";
import { useEngine } from "../tasks/useEngine";
import { useSectionActions, type Section } from "../tasks/sections";
import { TaskRow } from "./TaskRow";

const NONE = "none";
const dropId = (group: string) => `section:${group}`;
const noop = () => undefined;

interface Props {
  projectId: string;
  sections: Section[];
  tasks: Task[];
  manualOrder: boolean;
  onOpen: (task: Task) => void;
}

/**
 * A project's tasks grouped by section (tasks without one first). Tasks drag
 * within a section (reorder) and between sections (a move), by pointer,
 * touch or keyboard (Space, arrows, Space), with spoken announcements.
 */
export function SectionedList({ projectId, sections, tasks, manualOrder, onOpen }: Props) {
  const engine = useEngine();
  const groupOf = (task: Task) => (task.section_id && sections.some((s) => s.id === task.section_id) ? task.section_id : NONE);
  const groups = [{ id: NONE, name: "No section" }, ...sections.map((s) => ({ id: s.id, name: s.name }))];
  const byGroup = new Map(groups.map((g) => [g.id, tasks.filter((t) => groupOf(t) === g.id)]));
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 6 } }),
    useSensor(TouchSensor, { activationConstraint: { delay: 200, tolerance: 6 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const taskOf = (id: unknown) => tasks.find((t) => t.id === id);
  const targetGroup = (overId: unknown): string | undefined => {
    const raw = String(overId);
    if (raw.startsWith("section:")) return raw.slice("section:".length);
    const over = taskOf(overId);
    return over ? groupOf(over) : undefined;
  };
  const nameOf = (group: string | undefined) => groups.find((g) => g.id === group)?.name ?? "nowhere";
  const announcements: Announcements = {
    onDragStart: ({ active }) => `Picked up “${taskOf(active.id)?.title ?? "task"}” in ${nameOf(taskOf(active.id) && groupOf(taskOf(active.id)!))}.`,
    onDragOver: ({ active, over }) => (over ? `“${taskOf(active.id)?.title ?? "task"}” is over ${nameOf(targetGroup(over.id))}.` : "Not over a section."),
    onDragEnd: ({ active, over }) => (over ? `Dropped “${taskOf(active.id)?.title ?? "task"}” in ${nameOf(targetGroup(over.id))}.` : "Dropped."),
    onDragCancel: ({ active }) => `Moving “${taskOf(active.id)?.title ?? "task"}” cancelled.`,
  };

  function onDragEnd({ active, over }: DragEndEvent) {
    const task = taskOf(active.id);
    if (!task || !over) return;
    const from = groupOf(task);
    const to = targetGroup(over.id);
    if (!to) return;
    if (to !== from) {
      void engine.move(task, to === NONE ? { project_id: projectId } : { section_id: to });
      return;
    }
    if (active.id === over.id || !manualOrder) return;
    const list = byGroup.get(from) ?? [];
    const a = list.findIndex((t) => t.id === active.id);
    const b = list.findIndex((t) => t.id === over.id);
    if (a < 0 || b < 0) return;
    const moved = arrayMove(list, a, b);
    const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
    void engine.reorder(moved.slice(lo, hi + 1).map((t) => t.id));
  }

  return (
    <div className="sectioned" data-testid="sectioned-list">
      <DndContext sensors={sensors} collisionDetection={closestCorners} onDragEnd={onDragEnd} accessibility={{ announcements }}>
        {groups.map((group, i) => (
          <Group
            key={group.id}
            projectId={projectId}
            group={group}
            index={i - 1}
            sectionIds={sections.map((s) => s.id)}
            tasks={byGroup.get(group.id) ?? []}
            onOpen={onOpen}
          />
        ))}
      </DndContext>
      <NewSection projectId={projectId} />
    </div>
  );
}

function Group({
  projectId,
  group,
  index,
  sectionIds,
  tasks,
  onOpen,
}: {
  projectId: string;
  group: { id: string; name: string };
  index: number;
  sectionIds: string[];
  tasks: Task[];
  onOpen: (task: Task) => void;
}) {
  const { setNodeRef, isOver } = useDroppable({ id: dropId(group.id) });
  const actions = useSectionActions(projectId);
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(group.name);
  const isSection = group.id !== NONE;
  const headingId = `section-title-${group.id}`;
  const move = (delta: number) => {
    const ids = [...sectionIds];
    const j = index + delta;
    if (j < 0 || j >= ids.length) return;
    [ids[index], ids[j]] = [ids[j], ids[index]];
    void actions.reorder(ids);
  };
  async function rename(event: FormEvent) {
    event.preventDefault();
    if (name.trim() && name.trim() !== group.name) await actions.rename(group.id, name.trim());
    setRenaming(false);
  }
  return (
    <section ref={setNodeRef} className={`section-group ${isOver ? "over" : ""}`} aria-labelledby={headingId} data-section-id={group.id} data-testid="section">
      <div className="section-header">
        {renaming ? (
          <form onSubmit={rename} className="inline-form">
            <label htmlFor={`rename-${group.id}`} className="visually-hidden">
              Section name
            </label>
            <input id={`rename-${group.id}`} value={name} onChange={(e) => setName(e.target.value)} autoFocus maxLength={255} />
            <button type="submit">Save</button>
            <button type="button" onClick={() => setRenaming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <h2 id={headingId} className="section-title">
            {group.name} <span className="muted small">{tasks.length}</span>
          </h2>
        )}
        {isSection && !renaming ? (
          <div className="section-tools">
            <button type="button" className="icon-button" aria-label={`Rename section “${group.name}”`} onClick={() => setRenaming(true)}>
              <Pencil aria-hidden="true" size={16} />
            </button>
            <button type="button" className="icon-button" aria-label={`Move section “${group.name}” up`} disabled={index === 0} onClick={() => move(-1)}>
              <ArrowUp aria-hidden="true" size={16} />
            </button>
            <button
              type="button"
              className="icon-button"
              aria-label={`Move section “${group.name}” down`}
              disabled={index === sectionIds.length - 1}
              onClick={() => move(1)}
            >
              <ArrowDown aria-hidden="true" size={16} />
            </button>
            <button
              type="button"
              className="icon-button danger"
              aria-label={`Delete section “${group.name}”`}
              onClick={() => {
                if (confirm(`Delete the section “${group.name}”? Its tasks stay in the project.`)) void actions.remove(group.id);
              }}
            >
              <Trash2 aria-hidden="true" size={16} />
            </button>
          </div>
        ) : null}
      </div>
      <SortableContext items={tasks.map((t) => t.id)} strategy={verticalListSortingStrategy}>
        {tasks.length ? (
          <div role="list" aria-labelledby={headingId} className="task-list static-list">
            {tasks.map((task, i) => (
              <TaskRow key={task.id} task={task} index={i} measure={noop} sortable onOpen={onOpen} />
            ))}
          </div>
        ) : (
          <p className="muted small drop-hint">No tasks: drop one here.</p>
        )}
      </SortableContext>
    </section>
  );
}

export function NewSection({ projectId }: { projectId: string }) {
  const actions = useSectionActions(projectId);
  const [name, setName] = useState("");
  async function add(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) return;
    if (await actions.create(name.trim())) setName("");
  }
  return (
    <form onSubmit={add} className="inline-form new-section">
      <label htmlFor={`new-section-${projectId}`}>New section</label>
      <input id={`new-section-${projectId}`} value={name} onChange={(e) => setName(e.target.value)} maxLength={255} placeholder="Section name" />
      <button type="submit">
        <Plus aria-hidden="true" size={16} /> Add section
      </button>
    </form>
  );
}
