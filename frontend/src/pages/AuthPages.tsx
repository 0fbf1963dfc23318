import { useState, type FormEvent } from "react";
import { Link, useLocation } from "wouter";
import { ApiError } from "../api/errors";
import { login, register } from "../auth/session";

function FieldError({ id, messages }: { id: string; messages?: string[] }) {
  if (!messages?.length) return null;
  return (
    <p className="field-error" id={id}>
      {messages.join(" ")}
    </p>
  );
}

export function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [, navigate] = useLocation();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
      navigate("/");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Log in to Taskbeat</h1>
        <label htmlFor="login-username">Username or e-mail</label>
        <input id="login-username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        <label htmlFor="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
        <p>
          New here? <Link href="/register">Create an account</Link> · <Link href="/reset-password">Forgot your password?</Link>
        </p>
      </form>
    </main>
  );
}

export function RegisterPage() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const [form, setForm] = useState({ username: "", email: "", password: "", timezone: zone });
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [, navigate] = useLocation();
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setFields({});
    try {
      await register(form);
      await login(form.username, form.password);
      navigate("/");
    } catch (e) {
      if (e instanceof ApiError) {
        setFields(e.fields);
        setError(e.message);
      } else setError(String(e));
    } finally {
      setBusy(false);
    }
  }

  const described = (name: string) => (fields[name] ? `register-${name}-error` : undefined);
  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="register-title">
        <h1 id="register-title">Create your Taskbeat account</h1>
        <label htmlFor="register-username">Username</label>
        <input id="register-username" autoComplete="username" value={form.username} onChange={set("username")} required aria-describedby={described("username")} />
        <FieldError id="register-username-error" messages={fields.username} />
        <label htmlFor="register-email">E-mail</label>
        <input id="register-email" type="email" autoComplete="email" value={form.email} onChange={set("email")} required aria-describedby={described("email")} />
        <FieldError id="register-email-error" messages={fields.email} />
        <label htmlFor="register-password">Password</label>
        <input
          id="register-password"
          type="password"
          autoComplete="new-password"
          value={form.password}
          onChange={set("password")}
          required
          aria-describedby={described("password")}
        />
        <FieldError id="register-password-error" messages={fields.password} />
        <label htmlFor="register-timezone">Time zone</label>
        <input id="register-timezone" value={form.timezone} onChange={set("timezone")} aria-describedby={described("timezone")} />
        <FieldError id="register-timezone-error" messages={fields.timezone} />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
        <p>
          Have an account? <Link href="/login">Log in</Link>
        </p>
      </form>
    </main>
  );
}
