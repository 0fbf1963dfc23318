import { useEffect, useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Preferences } from "../api/client";
import { ApiError } from "../api/errors";
import { toast } from "../lib/store";
import { adoptTokens, logout } from "../auth/session";
import { authFetch } from "../api/client";
import { disablePush, enablePush, pushKey, pushState, pushSupported } from "../lib/push";
import { useEngine } from "../tasks/useEngine";
import { deviceZone } from "../lib/dates";

const key = () => ({ "Idempotency-Key": crypto.randomUUID() });
const ZONES: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

/** Browser notifications over Web Push; absent while the server has no push channel. */
function PushToggle() {
  const qc = useQueryClient();
  const key = useQuery({ queryKey: ["push-key"], queryFn: pushKey, staleTime: 3600_000, retry: false });
  const state = useQuery({ queryKey: ["push-state"], queryFn: pushState, enabled: Boolean(key.data) && pushSupported(), retry: false });
  const [busy, setBusy] = useState(false);
  if (!key.data) return null;
  if (!pushSupported()) return <p className="muted small">This browser cannot receive push notifications.</p>;
  const on = state.data === true;
  async function toggle() {
    setBusy(true);
    try {
      if (on) await disablePush();
      else await enablePush(key.data!);
      toast(on ? "Browser notifications are off." : "Browser notifications are on.");
    } catch (error) {
      toast(error instanceof ApiError ? error.describe() : `Could not change browser notifications: ${(error as Error).message}`, { tone: "error" });
    } finally {
      setBusy(false);
      await qc.invalidateQueries({ queryKey: ["push-state"] });
    }
  }
  return (
    <label className="inline">
      <input type="checkbox" checked={on} disabled={busy || state.isPending} onChange={() => void toggle()} data-testid="push-toggle" /> Browser
      notifications on this device
    </label>
  );
}

/** DELETE /api/auth/account with the password: the account and everything in it. */
function DeleteAccount() {
  const engine = useEngine();
  const qc = useQueryClient();
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function remove(event: FormEvent) {
    event.preventDefault();
    if (!confirm("Delete your account and all its tasks? This cannot be undone.")) return;
    const response = await authFetch(
      new Request("/api/auth/account", {
        method: "DELETE",
        headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
        body: JSON.stringify({ password }),
      }),
    );
    if (response.status === 204) {
      engine.stop();
      qc.clear();
      await logout();
      location.assign("/");
      return;
    }
    const text = await response.text();
    setError(response.status === 404 || response.status === 405 ? "This server cannot delete accounts yet." : new ApiError(response.status, text ? JSON.parse(text) : null).describe());
  }
  return (
    <form onSubmit={remove} className="card danger-zone" aria-labelledby="delete-account-title">
      <h2 id="delete-account-title">Delete account</h2>
      <p className="muted small">Deletes your account, tasks, projects and history on the server. Other devices are signed out.</p>
      <label htmlFor="delete-password">Password</label>
      <input
        id="delete-password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        required
        aria-describedby={error ? "delete-error" : undefined}
      />
      {error ? (
        <p id="delete-error" className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" className="danger">
        Delete my account
      </button>
    </form>
  );
}

/** Time zone and notification preferences. */
export default function SettingsPage() {
  const qc = useQueryClient();
  const me = useQuery({ queryKey: ["me"], queryFn: async () => unwrap(await api.GET("/api/me")) });
  const prefs = useQuery({ queryKey: ["preferences"], queryFn: async () => unwrap(await api.GET("/api/notifications/preferences")) });
  const [zone, setZone] = useState("");
  const [dateOrder, setDateOrder] = useState<"MDY" | "DMY" | "YMD">("MDY");
  useEffect(() => {
    if (me.data?.date_order) setDateOrder(me.data.date_order as "MDY" | "DMY" | "YMD");
  }, [me.data?.date_order]);
  const [form, setForm] = useState<Partial<Preferences>>({});
  const [secret, setSecret] = useState<string | null>(null);
  useEffect(() => setZone(me.data?.timezone ?? ""), [me.data?.timezone]);
  useEffect(() => prefs.data && setForm(prefs.data), [prefs.data]);

  async function saveZone(event: FormEvent) {
    event.preventDefault();
    const result = await api.PATCH("/api/me", { body: { timezone: zone, date_order: dateOrder }, headers: key() });
    if (!result.response.ok) toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
    else toast("Saved.");
    await qc.invalidateQueries({ queryKey: ["me"] });
  }

  async function savePrefs(event: FormEvent) {
    event.preventDefault();
    const body = {
      in_app_enabled: form.in_app_enabled,
      email_enabled: form.email_enabled,
      webhook_url: form.webhook_url ?? "",
      quiet_hours_start: form.quiet_hours_start || null,
      quiet_hours_end: form.quiet_hours_end || null,
      default_reminder_minutes: form.default_reminder_minutes || null,
      priority_boost_enabled: form.priority_boost_enabled,
    };
    const result = await api.PATCH("/api/notifications/preferences", { body: body as never, headers: key() });
    if (!result.response.ok) {
      toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
      return;
    }
    const answer = result.data as unknown as { webhook_secret?: string };
    if (answer?.webhook_secret) setSecret(answer.webhook_secret);
    toast("Preferences saved.");
    await qc.invalidateQueries({ queryKey: ["preferences"] });
  }

  const [passwords, setPasswords] = useState({ old_password: "", new_password: "" });
  async function changePassword(event: FormEvent) {
    event.preventDefault();
    const result = await api.POST("/api/auth/password", { body: passwords, headers: key() });
    if (!result.response.ok || !result.data) {
      toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
      return;
    }
    adoptTokens(result.data.access, result.data.refresh);
    setPasswords({ old_password: "", new_password: "" });
    toast("Password changed. Other devices are signed out.");
  }

  async function resendVerification() {
    const result = await api.POST("/api/auth/email/verification", { headers: key() });
    if (!result.response.ok) toast(new ApiError(result.response.status, result.error).describe(), { tone: "error" });
    else toast("Verification mail sent.");
  }

  async function rotate() {
    const result = await api.POST("/api/notifications/preferences/webhook/rotate-secret", { headers: key() });
    if (result.data) setSecret(result.data.webhook_secret);
  }

  const check = (k: keyof Preferences) => ({
    checked: Boolean(form[k]),
    onChange: (e: { target: { checked: boolean } }) => setForm({ ...form, [k]: e.target.checked }),
  });
  return (
    <section aria-labelledby="settings-title" className="settings">
      <h1 id="settings-title">Settings</h1>
      <form onSubmit={saveZone} className="card">
        <h2>Account</h2>
        <p className="muted">Signed in as {me.data?.username} ({me.data?.email}).</p>
        <label htmlFor="settings-zone">Time zone (IANA name)</label>
        <input id="settings-zone" value={zone} onChange={(e) => setZone(e.target.value)} list="zone-names" autoComplete="off" />
        <datalist id="zone-names">
          {ZONES.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
        <p className="muted small">Every date and time in the app is shown and entered in this zone (this device: {deviceZone()}).</p>
        <label htmlFor="settings-date-order">Typed dates like 1/2 are read as</label>
        <select id="settings-date-order" value={dateOrder} onChange={(e) => setDateOrder(e.target.value as "MDY" | "DMY" | "YMD")}>
          <option value="MDY">month/day (1/2 = 2 January)</option>
          <option value="DMY">day/month (1/2 = 1 February)</option>
          <option value="YMD">year/month/day</option>
        </select>
        <button type="submit">Save time zone and date order</button>
        <p data-testid="email-status">
          E-mail {me.data?.email_verified ? "verified" : "not verified yet"}.{" "}
          {me.data && !me.data.email_verified ? (
            <button type="button" className="link-button" onClick={() => void resendVerification()}>
              Send the verification mail again
            </button>
          ) : null}
        </p>
      </form>
      <form onSubmit={changePassword} className="card">
        <h2>Password</h2>
        <label htmlFor="settings-old-password">Current password</label>
        <input
          id="settings-old-password"
          type="password"
          autoComplete="current-password"
          value={passwords.old_password}
          onChange={(e) => setPasswords({ ...passwords, old_password: e.target.value })}
          required
        />
        <label htmlFor="settings-new-password">New password</label>
        <input
          id="settings-new-password"
          type="password"
          autoComplete="new-password"
          value={passwords.new_password}
          onChange={(e) => setPasswords({ ...passwords, new_password: e.target.value })}
          required
        />
        <button type="submit">Change password</button>
      </form>
      <form onSubmit={savePrefs} className="card">
        <h2>Notifications</h2>
        <label className="inline">
          <input type="checkbox" {...check("in_app_enabled")} /> In-app
        </label>
        <label className="inline">
          <input type="checkbox" {...check("email_enabled")} /> E-mail
        </label>
        <PushToggle />
        <label className="inline">
          <input type="checkbox" {...check("priority_boost_enabled")} /> Extra reminder for high-priority tasks
        </label>
        <label htmlFor="settings-default">Default reminder (minutes before, empty = off)</label>
        <input
          id="settings-default"
          type="number"
          min={1}
          max={10080}
          value={form.default_reminder_minutes ?? ""}
          onChange={(e) => setForm({ ...form, default_reminder_minutes: e.target.value ? Number(e.target.value) : null })}
        />
        <div className="row">
          <span>
            <label htmlFor="settings-quiet-start">Quiet hours from</label>
            <input id="settings-quiet-start" type="time" value={form.quiet_hours_start ?? ""} onChange={(e) => setForm({ ...form, quiet_hours_start: e.target.value })} />
          </span>
          <span>
            <label htmlFor="settings-quiet-end">until</label>
            <input id="settings-quiet-end" type="time" value={form.quiet_hours_end ?? ""} onChange={(e) => setForm({ ...form, quiet_hours_end: e.target.value })} />
          </span>
        </div>
        <label htmlFor="settings-webhook">Webhook URL</label>
        <input id="settings-webhook" type="url" value={form.webhook_url ?? ""} onChange={(e) => setForm({ ...form, webhook_url: e.target.value })} />
        {prefs.data?.webhook_secret_set ? (
          <button type="button" onClick={() => void rotate()}>
            Rotate webhook secret
          </button>
        ) : null}
        {secret ? (
          <p className="secret" role="status">
            Webhook signing secret (shown once): <code>{secret}</code>
          </p>
        ) : null}
        <button type="submit" className="primary">
          Save preferences
        </button>
      </form>
      <DeleteAccount />
    </section>
  );
}
