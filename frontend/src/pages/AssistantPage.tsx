import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { formatInstant, useZone } from "../lib/dates";
import { toast } from "../lib/store";

/** Chat with the assistant (docs/assistant.md); replies and proactive reminder messages arrive over the socket. */
export default function AssistantPage() {
  const zone = useZone(); // re-render when the profile's zone arrives or changes
  const qc = useQueryClient();
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const history = useQuery({
    queryKey: ["chat"],
    queryFn: async () => unwrap(await api.GET("/api/chat/history", { params: { query: { limit: 50 } as never } })).results,
  });

  async function send(event: FormEvent) {
    event.preventDefault();
    const message = text.trim();
    if (!message) return;
    setBusy(true);
    const result = await api.POST("/api/chat", { body: { message }, headers: { "Idempotency-Key": crypto.randomUUID() } });
    setBusy(false);
    if (!result.response.ok) {
      toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
      return;
    }
    setText("");
    await qc.invalidateQueries({ queryKey: ["chat"] });
    await qc.invalidateQueries({ queryKey: ["tasks"] });
  }

  const messages = [...(history.data ?? [])].reverse();
  return (
    <section aria-labelledby="assistant-title" className="assistant">
      <h1 id="assistant-title">Assistant</h1>
      <ol className="chat" aria-live="polite" data-testid="chat">
        {messages.map((m) => (
          <li key={m.id} className={`chat-${m.role}`}>
            <span className="visually-hidden">{m.role === "user" ? "You" : "Assistant"}: </span>
            <p>{m.text}</p>
            {m.question ? <p className="muted small">{m.question.prompt}</p> : null}
            <p className="muted small">{formatInstant(m.created_at, zone)}</p>
          </li>
        ))}
        {history.isSuccess && messages.length === 0 ? <li className="muted">Try “Remind me to call mom tomorrow at 6pm”.</li> : null}
      </ol>
      <form onSubmit={send} className="chat-form">
        <label htmlFor="chat-input" className="visually-hidden">
          Message the assistant
        </label>
        <input id="chat-input" value={text} onChange={(e) => setText(e.target.value)} placeholder="Ask or tell the assistant…" maxLength={2000} autoComplete="off" />
        <button type="submit" className="primary" disabled={busy}>
          Send
        </button>
      </form>
    </section>
  );
}
