import { memo } from "react";
import { useSortable } from "@dnd-kit/sortable";
import { CSS } from "@dnd-kit/utilities";
import type { Task } from "../api/client";
import { useStore } from "../lib/store";
import { useEngine } from "../tasks/useEngine";
import { formatDue, isOverdue, useZone } from "../lib/dates";
import { GripVertical, Repeat, Trash2 } from "lucide-react";

interface Props {
  task: Task;
  /** Absolute offset in a virtual list; undefined: a plain row in the flow. */
  top?: number;
  index: number;
  measure: (el: HTMLElement | null) => void;
  sortable: boolean;
  onOpen: (task: Task) => void;
}

export const TaskRow = memo(function TaskRow({ task, top, index, measure, sortable, onOpen }: Props) {
  const engine = useEngine();
  const pending = useStore(engine.pending).some((p) => p.taskRef === task.id || p.createsTempId === task.id);
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({ id: task.id, disabled: !sortable });
  const zone = useZone();
  const due = formatDue(task, zone);
  const overdue = !task.is_completed && isOverdue(task, new Date(), zone);
  return (
    <div
      role="listitem"
      ref={(el) => {
        setNodeRef(el);
        measure(el);
      }}
      data-index={index}
      data-task-id={task.id}
      data-testid="task-row"
      className={`task-row prio-${task.priority} ${task.is_completed ? "done" : ""} ${isDragging ? "dragging" : ""} ${top === undefined ? "static" : ""}`}
      style={top === undefined ? undefined : { top, transform: CSS.Translate.toString(transform), transition }}
    >
      {sortable ? (
        <button type="button" className="drag-handle" ref={setActivatorNodeRef} {...attributes} {...listeners} aria-label={`Move “${task.title}”`}>
          <GripVertical aria-hidden="true" size={16} />
        </button>
      ) : (
        <span className="drag-spacer" />
      )}
      <input
        type="checkbox"
        className="task-check"
        checked={task.is_completed}
        onChange={() => void engine.toggle(task)}
        aria-label={`${task.is_completed ? "Reopen" : "Complete"} “${task.title}”`}
        data-action="toggle"
      />
      <div className="task-main">
        <button type="button" className="task-title" onClick={() => onOpen(task)} data-action="edit" aria-label={`Edit “${task.title}”`}>
          {task.title}
        </button>
        <div className="task-meta">
          <span className={`prio-label prio-${task.priority}`}>{task.priority}</span>
          {due ? <span className={overdue ? "due overdue" : "due"}>{overdue ? "Overdue · " : ""}{due}</span> : null}
          {task.parent_id ? <span className="muted">subtask</span> : null}
          {task.is_recurring ? <span className="recurring" title={task.recurrence_rule ?? ""}>
              <Repeat aria-hidden="true" size={12} /> repeats
            </span> : null}
          {task.tags.map((tag) => (
            <span key={tag} className="tag">
              #{tag}
            </span>
          ))}
          {pending ? <span className="pending-badge">not synced</span> : null}
        </div>
      </div>
      <button type="button" className="icon-button danger" onClick={() => void engine.remove(task)} aria-label={`Delete “${task.title}”`} data-action="delete">
        <Trash2 aria-hidden="true" size={16} />
      </button>
    </div>
  );
});
