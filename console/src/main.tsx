// The console: a person signs in with an emailed code and manages their tokens,
// sessions and workspaces through the documented API. Pages are chosen by the URL's
// hash (#/tokens), so one static file serves them all and nothing is put in the path
// or the query (and no secret anywhere in the URL: the session is an HttpOnly cookie).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";

import { api, describe, whenSignedOut, type Schemas } from "./api";
import { Activity } from "./pages/activity";
import { Computers } from "./pages/computers";
import { Device } from "./pages/device";
import { Members } from "./pages/members";
import { Sessions } from "./pages/sessions";
import { SignIn } from "./pages/sign-in";
import { Tokens } from "./pages/tokens";
import { Workspaces } from "./pages/workspaces";
import { ErrorNote, Loading, useReady } from "./ui";

export type Me = Schemas["Me"];

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

/** /console/device: the page a device login sends its person to. */
const onDevicePage = location.pathname.replace(/\/$/, "").endsWith("/console/device");

function App() {
  // undefined: not known yet; null: signed out.
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [error, setError] = useState<string>();
  const hash = useHash();
  const loadMe = async () => {
    try {
      setMe(await api("get", "/api/me"));
    } catch (e) {
      if ((e as { status?: number }).status === 401) setMe(null);
      else setError(describe(e));
    }
  };
  useEffect(() => {
    whenSignedOut(() => setMe(null));
    void loadMe();
  }, []);
  useReady(me === null);
  if (error) return <ErrorNote error={error} />;
  if (me === undefined) return <Loading />;
  if (me === null) return <SignIn onSignedIn={loadMe} />;
  return (
    <>
      <Header me={me} signedOut={() => setMe(null)} />
      <main id="main">
        {onDevicePage ? <Device /> : <Page hash={hash} me={me} />}
      </main>
    </>
  );
}

function Header({ me, signedOut }: { me: Me; signedOut: () => void }) {
  const [error, setError] = useState<string>();
  const signOut = async () => {
    try {
      await api("post", "/api/auth/logout");
      signedOut();
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <header>
      <nav aria-label="Console">
        <strong>Tollgate</strong>
        {/* From the device page too, which is another path: the console's pages by theirs. */}
        <a href="/console/#/tokens">Tokens</a>
        <a href="/console/#/sessions">Sessions</a>
        <a href="/console/#/workspaces">Workspaces</a>
      </nav>
      <div class="who">
        <span data-testid="signed-in-as">{me.email}</span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </div>
      <ErrorNote error={error} />
    </header>
  );
}

function Page({ hash, me }: { hash: string; me: Me }) {
  const parts = hash.replace(/^#\/?/, "").split("/");
  switch (parts[0]) {
    case "sessions":
      return <Sessions />;
    case "workspaces": {
      const [, id, tab] = parts;
      if (!id) return <Workspaces />;
      return <Workspace id={id} tab={tab ?? "members"} me={me} />;
    }
    default:
      return <Tokens />;
  }
}

function Workspace({ id, tab, me }: { id: string; tab: string; me: Me }) {
  const [workspace, setWorkspace] = useState<Schemas["WorkspaceRole"] | null>();
  useEffect(() => {
    api("get", "/api/workspaces").then(
      (all) => setWorkspace(all.find((w) => w.id === id) ?? null),
      () => setWorkspace(null),
    );
  }, [id]);
  if (workspace === undefined) return <Loading />;
  if (workspace === null) return <p role="alert">Workspace not found.</p>;
  const tabs = [
    ["members", "Members"],
    ["computers", "Computers"],
    ["activity", "Activity"],
  ];
  return (
    <>
      <h1>{workspace.name}</h1>
      <p class="muted">Your role: {workspace.role}</p>
      <nav class="tabs" aria-label="Workspace">
        {tabs.map(([key, label]) => (
          <a
            key={key}
            href={`#/workspaces/${id}/${key}`}
            aria-current={tab === key ? "page" : undefined}
          >
            {label}
          </a>
        ))}
      </nav>
      {tab === "computers" ? (
        <Computers key={id} workspace={workspace} me={me} />
      ) : tab === "activity" ? (
        <Activity key={id} workspace={workspace} />
      ) : (
        <Members key={id} workspace={workspace} me={me} />
      )}
    </>
  );
}

render(<App />, document.getElementById("app")!);
