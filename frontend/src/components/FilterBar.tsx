import { useEffect, useState } from "react";
import type { ListParams } from "../tasks/params";

const PRIORITIES = ["high", "medium", "low"] as const;

/** Search as you type, status / priority / tag / due-range / recurring filters and sort; the list reads them as API parameters (date bounds are days of the profile's zone). */
export function FilterBar({ value, onChange, onSave }: { value: ListParams; onChange: (v: ListParams) => void; onSave: () => void }) {
  const [q, setQ] = useState(value.q ?? "");
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((value.q ?? "") !== q) onChange({ ...value, q: q || undefined });
    }, 200);
    return () => clearTimeout(timer);
  }, [q, value, onChange]);
  const priorities = new Set((value.priority ?? "").split(",").filter(Boolean));
  const togglePriority = (p: string) => {
    const next = new Set(priorities);
    if (next.has(p)) next.delete(p);
    else next.add(p);
    onChange({ ...value, priority: [...next].join(",") || undefined });
  };
  return (
    <div className="filter-bar" role="group" aria-label="Filters">
      <label className="visually-hidden" htmlFor="task-search">
        Search tasks
      </label>
      <input id="task-search" type="search" placeholder="Search…" value={q} onChange={(e) => setQ(e.target.value)} aria-keyshortcuts="/" />
      <label>
        Status{" "}
        <select value={value.status ?? ""} onChange={(e) => onChange({ ...value, status: (e.target.value || undefined) as ListParams["status"] })}>
          <option value="">view default</option>
          <option value="active">open</option>
          <option value="completed">done</option>
          <option value="all">all</option>
        </select>
      </label>
      <fieldset className="priority-filter">
        <legend>Priority</legend>
        {PRIORITIES.map((p) => (
          <label key={p} className={`chip prio-${p}`}>
            <input type="checkbox" checked={priorities.has(p)} onChange={() => togglePriority(p)} /> {p}
          </label>
        ))}
      </fieldset>
      <label>
        Tags{" "}
        <input
          className="tags-input"
          placeholder="work, home"
          value={value.tags ?? ""}
          onChange={(e) => onChange({ ...value, tags: e.target.value.replace(/\s+/g, "") || undefined })}
        />
      </label>
      <label>
        <input type="checkbox" checked={value.tags_mode === "any"} onChange={(e) => onChange({ ...value, tags_mode: e.target.checked ? "any" : undefined })} /> any tag
      </label>
      <label>
        Due from{" "}
        <input type="date" value={value.due_after ?? ""} onChange={(e) => onChange({ ...value, due_after: e.target.value || undefined })} />
      </label>
      <label>
        to{" "}
        <input type="date" value={value.due_before ?? ""} onChange={(e) => onChange({ ...value, due_before: e.target.value || undefined })} />
      </label>
      <label>
        Repeats{" "}
        <select value={value.is_recurring ?? ""} onChange={(e) => onChange({ ...value, is_recurring: (e.target.value || undefined) as ListParams["is_recurring"] })}>
          <option value="">any</option>
          <option value="true">recurring</option>
          <option value="false">one-time</option>
        </select>
      </label>
      <label>
        Sort{" "}
        <select value={value.sort_by ?? ""} onChange={(e) => onChange({ ...value, sort_by: (e.target.value || undefined) as ListParams["sort_by"] })}>
          <option value="">view default</option>
          <option value="position">manual</option>
          <option value="due_at">due date</option>
          <option value="priority">priority</option>
          <option value="created_at">newest</option>
          <option value="title">title</option>
        </select>
      </label>
      <button type="button" className="link-button" onClick={onSave}>
        Save filter
      </button>
    </div>
  );
}
