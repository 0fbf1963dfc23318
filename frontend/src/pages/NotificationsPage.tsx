import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "wouter";
import { api, unwrap } from "../api/client";
import { formatInstant, useZone } from "../lib/dates";

const key = () => ({ "Idempotency-Key": crypto.randomUUID() });

/** The in-app inbox; new ones arrive over the socket (the engine refreshes this query). */
export default function NotificationsPage() {
  const zone = useZone(); // re-render when the profile's zone arrives or changes
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ["notifications"],
    queryFn: async () => unwrap(await api.GET("/api/notifications", { params: { query: { limit: 50 } as never } })),
  });
  const refresh = () => Promise.all([qc.invalidateQueries({ queryKey: ["notifications"] }), qc.invalidateQueries({ queryKey: ["unread"] })]);
  const markRead = async (id: string) => {
    await api.POST("/api/notifications/{notification_id}/read", { params: { path: { notification_id: id } }, headers: key() });
    await refresh();
  };
  const readAll = async () => {
    await api.POST("/api/notifications/read-all", { headers: key() });
    await refresh();
  };
  const items = list.data?.results ?? [];
  return (
    <section aria-labelledby="notifications-title">
      <div className="list-header">
        <h1 id="notifications-title">Notifications</h1>
        <button type="button" onClick={() => void readAll()} disabled={!items.some((n) => !n.is_read)}>
          Mark all read
        </button>
      </div>
      {list.isSuccess && items.length === 0 ? <p className="empty">No notifications yet. Reminders show up here when they fire.</p> : null}
      <ul className="notifications">
        {items.map((n) => (
          <li key={n.id} className={n.is_read ? "read" : "unread"} data-testid="notification">
            <div>
              <strong>{n.title}</strong>
              <p>{n.body}</p>
              <p className="muted small">
                {formatInstant(n.created_at, zone)}
                {n.task_id ? (
                  <>
                    {" · "}
                    <Link href={`/tasks/${n.task_id}`}>Open task</Link>
                  </>
                ) : null}
              </p>
            </div>
            {!n.is_read ? (
              <button type="button" className="link-button" onClick={() => void markRead(n.id)} aria-label={`Mark “${n.title}” read`}>
                Mark read
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
