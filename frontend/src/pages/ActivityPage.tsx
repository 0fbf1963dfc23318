import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { formatInstant, useZone } from "../lib/dates";

/** The activity feed: the audit log of your account (docs/audit.md), newest first. */
export default function ActivityPage() {
  const zone = useZone(); // re-render when the profile's zone arrives or changes
  const feed = useQuery({
    queryKey: ["activity"],
    queryFn: async () => unwrap(await api.GET("/api/audit", { params: { query: { limit: 50 } as never } })),
  });
  const entries = feed.data?.results ?? [];
  return (
    <section aria-labelledby="activity-title" tabIndex={0}>
      <h1 id="activity-title">Activity</h1>
      {feed.isSuccess && entries.length === 0 ? <p className="empty">Nothing yet.</p> : null}
      <ul className="notifications" data-testid="activity">
        {entries.map((e) => (
          <li key={e.id}>
            <div>
              <strong>{e.action}</strong> <span className="muted">{`${e.resource.type} ${e.resource.id ?? ""}`.trim()}</span>
              <p className="muted small">{formatInstant(e.timestamp, zone)}</p>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
