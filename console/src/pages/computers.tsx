// Computers: adding one (an install token, the enroll command, a countdown, then
// "Connected" once its daemon registers), the runtimes, and the daemon tokens.
import { useEffect, useRef, useState } from "preact/hooks";

import { api, ApiError, describe, type Schemas } from "../api";
import { useEvents } from "../events";
import type { Me } from "../main";
import { Confirm, Copyable, Countdown, ErrorNote, Loading, useData, useReady, useSubmit, When, Head } from "../ui";

type Workspace = Schemas["WorkspaceRole"];
type Minted = Schemas["MintedInstallToken"];

export function Computers({ workspace, me }: { workspace: Workspace; me: Me }) {
  const id = workspace.id;
  const admin = workspace.role === "owner" || workspace.role === "admin";
  const members = useData(() => api("get", "/api/workspaces/{id}/members", { params: { id } }), [id]);
  const runtimes = useData(() => api("get", "/api/workspaces/{id}/runtimes", { params: { id } }), [id]);
  const tokens = useData(
    () => (admin ? api("get", "/api/workspaces/{id}/daemon-tokens", { params: { id } }) : Promise.resolve([])),
    [id, admin],
  );
  useReady(members.data !== undefined && runtimes.data !== undefined && tokens.data !== undefined);
  const email = (user: string) => members.data?.find((m) => m.user_id === user)?.email ?? user;
  const [error, setError] = useState<string>();
  const [revoking, setRevoking] = useState<Schemas["DaemonTokenView"]>();
  // Live: a daemon's or runtime's change reloads what shows them; a new stream, all.
  const [woken, setWoken] = useState(0);
  const live = useEvents(id, (event) => {
    if (/^(daemon|runtime|member):|^stream:opened$/.test(event.kind)) {
      void runtimes.reload();
      void tokens.reload();
      setWoken((n) => n + 1);
    }
    if (/^member:|^stream:opened$/.test(event.kind)) void members.reload();
  });

  const setVisibility = async (runtime: string, visibility: string) => {
    try {
      await api("patch", "/api/workspaces/{id}/runtimes/{runtime_id}", {
        params: { id, runtime_id: runtime },
        body: { visibility },
      });
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
    await runtimes.reload();
  };

  return (
    <section aria-labelledby="computers-title">
      <h2 id="computers-title">Computers</h2>
      {admin ? (
        <AddComputer
          workspace={workspace}
          me={me}
          members={members.data ?? []}
          live={live}
          woken={woken}
          onConnected={() => {
            void runtimes.reload();
            void tokens.reload();
          }}
        />
      ) : (
        <p class="muted">An owner or admin of the workspace adds computers, for any member.</p>
      )}
      <h3>Runtimes</h3>
      <ErrorNote error={runtimes.error ?? error} />
      {runtimes.data === undefined ? (
        <Loading />
      ) : runtimes.data.runtimes.length === 0 ? (
        <p class="muted">No runtime has registered yet.</p>
      ) : (
        <table>
          <Head columns={["Runtime", "Daemon", "Owner", "Status", "Last heartbeat", "Who may use it"]} />
          <tbody>
            {runtimes.data.runtimes.map((r) => (
              <tr key={r.id} data-testid="runtime" data-daemon={r.daemon_id}>
                <td>{r.name}</td>
                <td>
                  <code>{r.daemon_id}</code>
                </td>
                <td>{email(r.owner_id)}</td>
                <td>
                  <span class={`status ${r.status}`}>{r.status}</span>
                </td>
                <td>
                  <When at={r.last_heartbeat_at} never="none yet" />
                </td>
                <td>
                  {r.owner_id === me.user_id ? (
                    <label class="check">
                      <input
                        type="checkbox"
                        checked={r.visibility === "workspace"}
                        onChange={(e) =>
                          setVisibility(
                            r.id,
                            (e.currentTarget as HTMLInputElement).checked ? "workspace" : "private",
                          )
                        }
                      />
                      every member
                    </label>
                  ) : r.visibility === "workspace" ? (
                    "every member"
                  ) : (
                    "its owner"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {admin && (
        <>
          <h3>Daemon tokens</h3>
          <ErrorNote error={tokens.error} />
          {tokens.data === undefined ? (
            <Loading />
          ) : tokens.data.length === 0 ? (
            <p class="muted">No daemon has enrolled yet.</p>
          ) : (
            <table>
              <Head columns={["Daemon", "Acts for", "Token", "Enrolled", "Expires", ""]} />
              <tbody>
                {tokens.data.map((t) => (
                  <tr key={t.id} data-testid="daemon-token" data-daemon={t.daemon_id}>
                    <td>
                      <code>{t.daemon_id}</code>
                    </td>
                    <td>{email(t.owner_id)}</td>
                    <td>
                      <code>{t.token_prefix}…</code>
                    </td>
                    <td>
                      <When at={t.created_at} />
                    </td>
                    <td>
                      <When at={t.expires_at} />
                    </td>
                    <td>
                      {t.revoked_at ? (
                        <span class="muted">
                          revoked <When at={t.revoked_at} />
                        </span>
                      ) : (
                        <button type="button" class="danger" onClick={() => setRevoking(t)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {revoking && (
        <Confirm
          title={`Revoke the token of ${revoking.daemon_id}?`}
          confirm="Revoke daemon token"
          onConfirm={async () => {
            await api("delete", "/api/workspaces/{id}/daemon-tokens/{token_id}", {
              params: { id, token_id: revoking.id },
            });
            await tokens.reload();
            await runtimes.reload();
          }}
          onClose={() => setRevoking(undefined)}
        >
          <p>
            The daemon stops within 2 seconds: its runtimes go offline and its tasks are
            cancelled. This cannot be undone; the computer needs a new install token.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function AddComputer(props: {
  workspace: Workspace;
  me: Me;
  members: Schemas["MemberView"][];
  /** Whether the event stream is open. */
  live: boolean;
  /** Counts the stream's daemon and runtime events. */
  woken: number;
  onConnected: () => void;
}) {
  const [minted, setMinted] = useState<Minted>();
  const [connected, setConnected] = useState<string>();
  const [waitError, setWaitError] = useState<string>();
  const id = props.workspace.id;
  const mint = useSubmit(async (form) => {
    const user = String(form.get("for") ?? props.me.user_id);
    const token = await api("post", "/api/workspaces/{id}/install-tokens", {
      params: { id },
      body: { user_id: user },
    });
    setConnected(undefined);
    setWaitError(undefined);
    setMinted(token);
  });
  const onConnected = useRef(props.onConnected);
  onConnected.current = props.onConnected;
  // Woken by the event stream (`daemon:registered`, `runtime:online`): checked at once.
  const live = useRef(props.live);
  live.current = props.live;
  const wake = useRef<() => void>(() => {});
  useEffect(() => wake.current(), [props.woken]);
  // Connected: this install token was used (the server says by which daemon), and that
  // daemon has registered a runtime. Checked whenever the stream says a daemon or a
  // runtime changed, and polled until then (each second without a stream, every 10 s
  // with one), up to the token's expiry or a refusal; a check that fails to reach the
  // server is tried again.
  useEffect(() => {
    if (!minted || connected) return;
    let stopped = false;
    const poll = async () => {
      let daemon: string | undefined;
      while (!stopped) {
        try {
          if (!daemon) {
            const status = await api("get", "/api/workspaces/{id}/install-tokens/{token_id}", {
              params: { id, token_id: minted.id },
            });
            if (stopped) return;
            daemon = status.daemon_id ?? undefined;
            if (!daemon && Date.now() > new Date(minted.expires_at).getTime()) {
              setWaitError("The install token expired unused. Add the computer again.");
              return;
            }
          }
          if (daemon) {
            const now = await api("get", "/api/workspaces/{id}/runtimes", { params: { id } });
            if (stopped) return;
            if (now.runtimes.some((r) => r.daemon_id === daemon)) {
              setConnected(daemon);
              onConnected.current();
              return;
            }
          }
        } catch (e) {
          if (stopped) return;
          if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
            setWaitError(describe(e));
            return;
          }
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, live.current ? 10000 : 1000);
          wake.current = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, [minted, connected, id]);

  if (minted) {
    const enroll = `tollgate enroll --server ${location.origin} --install-token ${minted.token}`;
    return (
      <section class="card" aria-labelledby="add-title">
        <h3 id="add-title">Add a computer</h3>
        {connected ? (
          <p class="ok" role="status" data-testid="connected">
            Connected: <code>{connected}</code>
          </p>
        ) : (
          <>
            <p>On the computer, run:</p>
            <Copyable text={enroll} label="enroll command" />
            <Copyable text="tollgate run" label="run command" />
            <p>
              The install token works once, for <Countdown until={minted.expires_at} /> more.
            </p>
            {waitError ? (
              <ErrorNote error={waitError} />
            ) : (
              <p role="status" aria-busy="true">
                Waiting for the computer to connect…
              </p>
            )}
          </>
        )}
        <button type="button" class="secondary" onClick={() => setMinted(undefined)}>
          {connected ? "Add another computer" : "Cancel"}
        </button>
      </section>
    );
  }
  return (
    <form onSubmit={mint.onSubmit} class="card" aria-labelledby="add-title">
      <h3 id="add-title">Add a computer</h3>
      <p>The computer's daemon will act for one member, and never for more than they may do.</p>
      {props.members.length > 0 && (
        <>
          <label for="computer-for">For</label>
          <select id="computer-for" name="for">
            {props.members.map((m) => (
              <option key={m.user_id} value={m.user_id} selected={m.user_id === props.me.user_id}>
                {m.email}
              </option>
            ))}
          </select>
        </>
      )}
      <button type="submit" disabled={mint.busy}>
        Add a computer
      </button>
      <ErrorNote error={mint.error} />
    </form>
  );
}
