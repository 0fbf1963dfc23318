import { useDeferredValue, useEffect, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type QuickPreview } from "../api/client";
import { ApiError } from "../api/errors";
import { formatDate, formatInstant, useZone } from "../lib/dates";
import { useEngine } from "../tasks/useEngine";

/** The text split into recognised spans (highlighted by kind) and plain runs. */
export function segments(text: string, spans: QuickPreview["spans"]): { text: string; kind?: string }[] {
  const out: { text: string; kind?: string }[] = [];
  let at = 0;
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    if (span.start < at) continue;
    if (span.start > at) out.push({ text: text.slice(at, span.start) });
    out.push({ text: text.slice(span.start, span.end), kind: span.kind });
    at = span.end;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** The project the text names with ##, if any (the schema types it loosely). */
const named = (data: QuickPreview): string | null => (data.project as { name?: string } | null)?.name ?? null;

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** One line in, the server's parse shown live; Enter creates exactly what was previewed. */
export function QuickAdd({ project }: { project?: { id: string; name: string } } = {}) {
  const zone = useZone(); // re-render when the profile's zone arrives or changes
  const engine = useEngine();
  const [text, setText] = useState("");
  const debounced = useDeferredValue(useDebounced(text.trim(), 150));
  const preview = useQuery({
    queryKey: ["parse", debounced],
    enabled: debounced.length > 0,
    placeholderData: (previous) => previous,
    retry: false,
    gcTime: 60_000,
    queryFn: async () => {
      const result = await api.POST("/api/tasks/parse", { body: { text: debounced } });
      const { data, error } = result;
      const status = (result as { response: Response }).response.status;
      if (error !== undefined || !data) throw new ApiError(status, error);
      return data;
    },
  });

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = text.trim();
    if (!value) return;
    setText("");
    // "##Name" in the text picks the project itself.
    await engine.quickAdd(value, project && !/(^|\s)##\S/.test(value) ? project.id : undefined);
  }

  const data = text.trim() && preview.data && debounced === text.trim() ? preview.data : null;
  const error = text.trim() && preview.error instanceof ApiError ? preview.error.describe() : null;
  return (
    <form className="quick-add" onSubmit={submit} role="search" aria-label="Quick add">
      <label htmlFor="quick-add-input" className="visually-hidden">
        Add a task
      </label>
      <input
        id="quick-add-input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="Add a task: “Pay rent on the 1st of every month !high #home”"
        autoComplete="off"
        aria-describedby="quick-add-preview"
        aria-keyshortcuts="q"
      />
      <button type="submit" className="primary">
        Add
      </button>
      <div id="quick-add-preview" className="quick-preview" aria-live="polite" data-testid="quick-preview">
        {data ? (
          <>
            <p className="highlighted">
              {segments(text.trim(), data.spans).map((seg, i) =>
                seg.kind ? (
                  <mark key={i} className={`span-${seg.kind}`} data-kind={seg.kind} title={seg.kind}>
                    {seg.text}
                  </mark>
                ) : (
                  <span key={i}>{seg.text}</span>
                ),
              )}
            </p>
            <p className="preview-summary">
              <strong>{data.title || "(no title)"}</strong>
              {data.due_at ? ` · due ${formatInstant(data.due_at, zone)}` : data.due_date ? ` · due ${formatDate(data.due_date)}` : ""}
              {named(data) ? ` · in ${named(data)}` : project ? ` · in ${project.name}` : ""}
              {data.recurrence_summary ? ` · ${data.recurrence_summary}` : ""}
              {data.priority ? ` · ${data.priority} priority` : ""}
              {data.tags.length ? ` · ${data.tags.map((t) => `#${t}`).join(" ")}` : ""}
              {data.reminder_offsets.length ? ` · remind ${data.reminder_offsets.map((m) => `${m} min`).join(", ")} before` : ""}
            </p>
            {data.unrecognised.length ? (
              <p className="unrecognised" data-testid="unrecognised">
                Not understood: {data.unrecognised.map((u) => `“${u}”`).join(", ")} (kept in the title)
              </p>
            ) : null}
          </>
        ) : error ? (
          <p className="field-error">{error}</p>
        ) : null}
      </div>
    </form>
  );
}
