import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useLocation } from "wouter";
import { Archive, Pencil, Trash2 } from "lucide-react";
import { api } from "../api/client";
import { ApiError } from "../api/errors";
import { toast } from "../lib/store";
import { useProjects } from "./Shell";

const key = () => ({ "Idempotency-Key": crypto.randomUUID() });

async function outcome(promise: Promise<{ error?: unknown; response: Response }>): Promise<{ ok: boolean; error?: ApiError }> {
  const result = await promise;
  return result.response.ok ? { ok: true } : { ok: false, error: new ApiError(result.response.status, result.error) };
}

/** A project's own actions (docs/projects.md): rename, archive, delete with what happens to its tasks. */
export function ProjectTools({ projectId, name }: { projectId: string; name: string }) {
  const qc = useQueryClient();
  const [, navigate] = useLocation();
  const projects = useProjects();
  const inbox = (projects.data ?? []).find((p) => p.is_inbox);
  const [renaming, setRenaming] = useState(false);
  const [value, setValue] = useState(name);
  const [deleting, setDeleting] = useState(false);
  const [fate, setFate] = useState<"move" | "delete">("move");

  const done = async (result: { ok: boolean; error?: ApiError }, message: string) => {
    if (!result.ok) {
      toast(result.error!.describe(), { tone: "error" });
      return false;
    }
    toast(message);
    await qc.invalidateQueries({ queryKey: ["projects"] });
    await qc.invalidateQueries({ queryKey: ["counts"] });
    return true;
  };
  async function rename(event: FormEvent) {
    event.preventDefault();
    if (value.trim() && value.trim() !== name && (await done(await outcome(api.PATCH("/api/projects/{project_id}", { params: { path: { project_id: projectId } }, body: { name: value.trim() }, headers: key() })), "Project renamed."))) setRenaming(false);
    else if (value.trim() === name) setRenaming(false);
  }
  async function archive() {
    if (await done(await outcome(api.POST("/api/projects/{project_id}/archive", { params: { path: { project_id: projectId } }, headers: key() })), `Archived “${name}”.`)) navigate("/");
  }
  async function remove(event: FormEvent) {
    event.preventDefault();
    const query = fate === "move" && inbox ? ({ tasks: "move", move_to: inbox.id } as const) : ({ tasks: "delete" } as const);
    if (await done(await outcome(api.DELETE("/api/projects/{project_id}", { params: { path: { project_id: projectId }, query }, headers: key() })), `Deleted “${name}”.`)) {
      await qc.invalidateQueries({ queryKey: ["tasks"] });
      navigate("/");
    }
  }

  return (
    <div className="project-tools">
      {renaming ? (
        <form onSubmit={rename} className="inline-form">
          <label htmlFor="project-name">Project name</label>
          <input id="project-name" value={value} onChange={(e) => setValue(e.target.value)} maxLength={120} autoFocus />
          <button type="submit">Save name</button>
          <button type="button" onClick={() => setRenaming(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          <button type="button" className="icon-button" aria-label={`Rename project “${name}”`} onClick={() => setRenaming(true)}>
            <Pencil aria-hidden="true" size={16} />
          </button>
          <button type="button" className="icon-button" aria-label={`Archive project “${name}”`} onClick={() => void archive()}>
            <Archive aria-hidden="true" size={16} />
          </button>
          <button type="button" className="icon-button danger" aria-label={`Delete project “${name}”`} onClick={() => setDeleting((d) => !d)} aria-expanded={deleting}>
            <Trash2 aria-hidden="true" size={16} />
          </button>
        </>
      )}
      {deleting ? (
        <form onSubmit={remove} className="inline-form card" aria-label={`Delete project “${name}”`}>
          <fieldset className="scope-choices">
            <legend>Its tasks</legend>
            <label className="inline">
              <input type="radio" name="project-fate" checked={fate === "move"} onChange={() => setFate("move")} /> move to the Inbox
            </label>
            <label className="inline">
              <input type="radio" name="project-fate" checked={fate === "delete"} onChange={() => setFate("delete")} /> delete them too
            </label>
          </fieldset>
          <button type="submit" className="danger">
            Delete the project
          </button>
        </form>
      ) : null}
    </div>
  );
}
