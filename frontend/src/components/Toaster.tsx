import { X } from "lucide-react";
import { dismissToast, toasts, useStore } from "../lib/store";

/** Messages (undo, failures, notifications) in a polite live region. */
export function Toaster() {
  const list = useStore(toasts);
  return (
    <div className="toaster" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} className={`toast ${t.tone === "error" ? "toast-error" : ""}`}>
          <span>{t.message}</span>
          {t.action ? (
            <button
              type="button"
              className="link-button"
              onClick={() => {
                t.action!.run();
                dismissToast(t.id);
              }}
            >
              {t.action.label}
            </button>
          ) : null}
          <button type="button" className="icon-button" aria-label="Dismiss message" onClick={() => dismissToast(t.id)}>
            <X aria-hidden="true" size={16} />
          </button>
        </div>
      ))}
    </div>
  );
}
