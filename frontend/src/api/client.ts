/**
 * The typed API client: openapi-fetch over the types generated from
 * /api/schema/ (src/api/schema.d.ts), with the access token attached, one
 * silent refresh-and-retry on 401, and an X-Request-ID on every call.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { ApiError, NetworkError } from "./errors";
import { getAccessToken, refreshSession } from "../auth/session";

export type Task = components["schemas"]["TaskOutput"];
export type TaskPage = components["schemas"]["PaginatedTaskList"];
export type TaskWrite = components["schemas"]["PatchedTaskWriteRequest"];
export type QuickPreview = components["schemas"]["QuickAddPreviewOutput"];
export type Reminder = components["schemas"]["ReminderOutput"];
export type Notification = components["schemas"]["NotificationOutput"];
export type SavedFilter = components["schemas"]["SavedFilterOutput"];
export type Me = components["schemas"]["Me"];
export type Preferences = components["schemas"]["PreferencesOutput"];
export type Priority = components["schemas"]["PriorityEnum"];

export function newId(): string {
  return crypto.randomUUID();
}

/** fetch with auth: Bearer token, X-Request-ID, and one refresh + retry when the token was refused. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const token = await getAccessToken();
  const send = async (request: Request, bearer: string | null) => {
    if (bearer) request.headers.set("Authorization", `Bearer ${bearer}`);
    if (!request.headers.has("X-Request-ID")) request.headers.set("X-Request-ID", newId());
    try {
      return await fetch(request);
    } catch (error) {
      throw new NetworkError(error);
    }
  };
  const response = await send(input, token);
  if (response.status !== 401 || !token) return response;
  const next = await refreshSession(token);
  if (!next) return response; // revoked: the session is gone and the app shows the login page
  return send(retry, next.access);
}

export const api = createClient<paths>({ baseUrl: "", fetch: authFetch });

/** Unwrap an openapi-fetch result: the data, or throw the API's error. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, result.error);
  }
  return result.data as T;
}
