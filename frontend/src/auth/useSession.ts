import { useEffect, useState } from "react";
import { loadSession, onSessionChange, type Session } from "./session";

export function useSession(): Session | null {
  const [session, setSession] = useState(loadSession);
  useEffect(() => onSessionChange(setSession), []);
  return session;
}
