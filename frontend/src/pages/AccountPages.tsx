import { useEffect, useState, type FormEvent } from "react";
import { Link } from "wouter";
import { ApiError } from "../api/errors";

/** The token from a mailed link: `/reset-password#token=…` (the fragment never reaches a server log). */
function tokenFromFragment(): string {
  return new URLSearchParams(location.hash.replace(/^#/, "")).get("token") ?? "";
}

async function post(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Without a token: ask for a reset link by e-mail. With one: choose the new password. */
export function ResetPasswordPage() {
  const token = tokenFromFragment();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      if (token) {
        await post("/api/auth/password/reset/confirm", { token, new_password: password });
        setMessage("Your password is changed. Log in with the new one.");
      } else {
        const answer = (await post("/api/auth/password/reset", { email })) as { detail?: string };
        setMessage(answer?.detail ?? "If the address has an account, a link is on its way.");
      }
    } catch (e) {
      setError(e instanceof ApiError ? e.describe() : String(e));
    }
  }

  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="reset-title">
        <h1 id="reset-title">{token ? "Choose a new password" : "Reset your password"}</h1>
        {token ? (
          <>
            <label htmlFor="reset-password">New password</label>
            <input id="reset-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          </>
        ) : (
          <>
            <label htmlFor="reset-email">E-mail</label>
            <input id="reset-email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
          </>
        )}
        {message ? <p role="status">{message}</p> : null}
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary">
          {token ? "Set password" : "Send reset link"}
        </button>
        <p>
          <Link href="/">Back to Taskbeat</Link>
        </p>
      </form>
    </main>
  );
}

/** `/verify-email#token=…`: confirms the address the mail was sent to. */
export function VerifyEmailPage() {
  const [state, setState] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    const token = tokenFromFragment();
    if (!token) {
      setState({ ok: false, text: "This link has no token." });
      return;
    }
    post("/api/auth/email/verify", { token })
      .then((answer) => setState({ ok: true, text: `${(answer as { email?: string }).email ?? "Your address"} is verified.` }))
      .catch((e) => setState({ ok: false, text: e instanceof ApiError ? e.describe() : String(e) }));
  }, []);
  return (
    <main className="auth-page">
      <section className="auth-card" aria-labelledby="verify-title">
        <h1 id="verify-title">E-mail verification</h1>
        <p role={state?.ok === false ? "alert" : "status"}>{state ? state.text : "Verifying…"}</p>
        <p>
          <Link href="/">Back to Taskbeat</Link>
        </p>
      </section>
    </main>
  );
}
