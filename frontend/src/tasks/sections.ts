/** A project's sections (docs/projects.md): read, and written straight to the API (they are not task writes). */
import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { toast } from "../lib/store";
import type { components } from "../api/schema";

export type Section = components["schemas"]["SectionOutput"];

export const sectionsKey = (projectId: string) => ["sections", projectId] as const;

export function useSections(projectId: string | null | undefined) {
  return useQuery({
    queryKey: sectionsKey(projectId ?? ""),
    enabled: Boolean(projectId),
    queryFn: async () => unwrap(await api.GET("/api/projects/{project_id}/sections", { params: { path: { project_id: projectId! } } })).results,
  });
}

const key = () => ({ "Idempotency-Key": crypto.randomUUID() });

async function done(qc: QueryClient, projectId: string, result: { error?: unknown; response: Response }): Promise<boolean> {
  if (!result.response.ok) toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
  await qc.invalidateQueries({ queryKey: sectionsKey(projectId) });
  return result.response.ok;
}

export function useSectionActions(projectId: string) {
  const qc = useQueryClient();
  return {
    create: async (name: string) =>
      done(qc, projectId, await api.POST("/api/projects/{project_id}/sections", { params: { path: { project_id: projectId } }, body: { name }, headers: key() })),
    rename: async (id: string, name: string) =>
      done(qc, projectId, await api.PATCH("/api/sections/{section_id}", { params: { path: { section_id: id } }, body: { name }, headers: key() })),
    reorder: async (ids: string[]) => {
      // Optimistic: the new order shows at once; the refetch after the answer corrects it.
      qc.setQueryData<Section[]>(sectionsKey(projectId), (old) => (old ? ids.map((id) => old.find((s) => s.id === id)!).filter(Boolean) : old));
      return done(
        qc,
        projectId,
        await api.POST("/api/projects/{project_id}/sections/reorder", { params: { path: { project_id: projectId } }, body: { section_ids: ids }, headers: key() }),
      );
    },
    remove: async (id: string) => {
      const ok = await done(qc, projectId, await api.DELETE("/api/sections/{section_id}", { params: { path: { section_id: id } }, headers: key() }));
      // Its tasks stay in the project under no section; the task.moved pushes update them.
      if (ok) await qc.invalidateQueries({ queryKey: ["tasks"] });
      return ok;
    },
  };
}
