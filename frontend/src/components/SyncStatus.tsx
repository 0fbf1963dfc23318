import { useStore } from "../lib/store";
import { useEngine } from "../tasks/useEngine";

const LABELS = { connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…", offline: "Offline" } as const;

/** Socket state plus writes waiting in the outbox. */
export function SyncStatus() {
  const engine = useEngine();
  const status = useStore(engine.socketStatus);
  const online = useStore(engine.online);
  const pending = useStore(engine.pending);
  const shown = online ? status : "offline";
  return (
    <div className={`sync-status sync-${shown}`} data-testid="sync-status" data-status={shown} data-pending={pending.length}>
      <span className="dot" aria-hidden="true" />
      <span>{LABELS[shown]}</span>
      {pending.length > 0 ? (
        <span className="pending" title={pending.map((p) => p.label).join("\n")}>
          · {pending.length} unsynced
        </span>
      ) : null}
    </div>
  );
}
