import { useEffect, useMemo, useState } from "react";
import { QueryClient } from "@tanstack/react-query";
import { PersistQueryClientProvider, type PersistedClient } from "@tanstack/react-query-persist-client";
import { createAsyncStoragePersister } from "@tanstack/query-async-storage-persister";
import { Route, Switch, useRoute } from "wouter";
import { useSession } from "./auth/useSession";
import type { Session } from "./auth/session";
import { openUserDb } from "./offline/db";
import { Engine } from "./tasks/engine";
import { EngineContext } from "./tasks/useEngine";
import { LoginPage, RegisterPage } from "./pages/AuthPages";
import { ResetPasswordPage, VerifyEmailPage } from "./pages/AccountPages";
import { Shell } from "./components/Shell";
import { Toaster } from "./components/Toaster";

const CACHE_VERSION = "1";
const PERSISTED_PAGES = 3;

function trimForStorage(client: PersistedClient): PersistedClient {
  const queries = client.clientState.queries.map((query) => {
    const data = query.state.data as { pages?: unknown[]; pageParams?: unknown[] } | undefined;
    if (!data?.pages || data.pages.length <= PERSISTED_PAGES) return query;
    const trimmed = { ...data, pages: data.pages.slice(0, PERSISTED_PAGES), pageParams: data.pageParams?.slice(0, PERSISTED_PAGES) };
    return { ...query, state: { ...query.state, data: trimmed } };
  });
  return { ...client, clientState: { ...client.clientState, queries } };
}

function makeClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Offline the persisted cache answers; nothing is thrown away for lack of a network.
        networkMode: "offlineFirst",
        staleTime: 30_000,
        gcTime: 24 * 3600_000,
        retry: (count, error) => count < 2 && (error as { status?: number }).status === undefined,
        refetchOnWindowFocus: false,
      },
      mutations: { networkMode: "always" },
    },
  });
}

function SignedIn({ session }: { session: Session }) {
  const queryClient = useMemo(makeClient, [session.userId]);
  const persister = useMemo(() => {
    const db = openUserDb(session.userId);
    return createAsyncStoragePersister({
      storage: {
        getItem: async (key) => ((await (await db).get("cache", key)) as string | undefined) ?? null,
        setItem: async (key, value) => void (await (await db).put("cache", value, key)),
        removeItem: async (key) => void (await (await db).delete("cache", key)),
      },
      throttleTime: 1000,
      // Long lists: keep the first pages of each for offline reads, so a
      // 10,000-task list does not mean serialising megabytes every second.
      serialize: (client) => JSON.stringify(trimForStorage(client)),
    });
  }, [session.userId]);
  const [engine, setEngine] = useState<Engine | null>(null);
  useEffect(() => {
    const next = new Engine(session.userId, queryClient);
    next.start();
    setEngine(next);
    return () => next.stop();
  }, [session.userId, queryClient]);

  return (
    <PersistQueryClientProvider
      client={queryClient}
      persistOptions={{
        persister,
        buster: CACHE_VERSION,
        maxAge: 7 * 24 * 3600_000,
        dehydrateOptions: { shouldDehydrateQuery: (q) => q.state.status === "success" && q.queryKey[0] !== "parse" },
      }}
    >
      {engine ? (
        <EngineContext.Provider value={engine}>
          <Shell session={session} />
        </EngineContext.Provider>
      ) : null}
    </PersistQueryClientProvider>
  );
}

export function App() {
  const session = useSession();
  const [onReset] = useRoute("/reset-password");
  const [onVerify] = useRoute("/verify-email");
  // Mailed links work signed in or out.
  if (onReset || onVerify) {
    return (
      <>
        {onReset ? <ResetPasswordPage /> : <VerifyEmailPage />}
        <Toaster />
      </>
    );
  }
  return (
    <>
      {session ? (
        <SignedIn key={session.userId} session={session} />
      ) : (
        <Switch>
          <Route path="/register" component={RegisterPage} />
          <Route component={LoginPage} />
        </Switch>
      )}
      <Toaster />
    </>
  );
}
