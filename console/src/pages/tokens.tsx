// Personal access tokens: the list, creating one (shown once, until Done), revoking.
import { useState } from "preact/hooks";

import { api, type Schemas } from "../api";
import { Confirm, Copyable, ErrorNote, Loading, useData, useReady, useSubmit, When, Head } from "../ui";

type Created = Schemas["CreatedPat"];
type Pat = Schemas["PatView"];

export function Tokens() {
  const tokens = useData(() => api("get", "/api/tokens"));
  const workspaces = useData(() => api("get", "/api/workspaces"));
  // The new token lives here, in this component's memory only, until Done.
  const [created, setCreated] = useState<Created>();
  const [revoking, setRevoking] = useState<Pat>();
  useReady(tokens.data !== undefined && workspaces.data !== undefined);
  const workspaceName = (id?: string | null) =>
    id ? (workspaces.data?.find((w) => w.id === id)?.name ?? id) : "all your workspaces";
  return (
    <>
      <h1>Personal access tokens</h1>
      <p>
        A token acts as you, for scripts and for a daemon you run yourself. Scope it to one
        workspace, or to reading only, when that is all it needs.
      </p>
      {created ? (
        <Reveal created={created} onDone={() => setCreated(undefined)} />
      ) : (
        <CreateToken
          workspaces={workspaces.data ?? []}
          onCreated={async (pat) => {
            setCreated(pat);
            await tokens.reload();
          }}
        />
      )}
      <h2>Your tokens</h2>
      <ErrorNote error={tokens.error} />
      {tokens.data === undefined ? (
        <Loading />
      ) : tokens.data.length === 0 ? (
        <p class="muted">No tokens yet.</p>
      ) : (
        <table>
          <Head columns={["Name", "Token", "Created", "Last used", "Expires", "Scope", ""]} />
          <tbody>
            {tokens.data.map((t) => (
              <tr key={t.id} data-testid="token" data-name={t.name}>
                <td>{t.name}</td>
                <td>
                  <code>{t.token_prefix}…</code>
                </td>
                <td>
                  <When at={t.created_at} />
                </td>
                <td>
                  <When at={t.last_used_at} never="never used" />
                </td>
                <td>
                  <When at={t.expires_at} never="never" />
                </td>
                <td>
                  {workspaceName(t.workspace_id)}, {t.access === "read" ? "read only" : "read and write"}
                </td>
                <td>
                  <button type="button" class="danger" onClick={() => setRevoking(t)}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <Confirm
          title={`Revoke “${revoking.name}”?`}
          confirm="Revoke token"
          onConfirm={async () => {
            await api("delete", "/api/tokens/{id}", { params: { id: revoking.id } });
            await tokens.reload();
          }}
          onClose={() => setRevoking(undefined)}
        >
          <p>
            Everything using <code>{revoking.token_prefix}…</code> stops working within 2
            seconds. This cannot be undone.
          </p>
        </Confirm>
      )}
    </>
  );
}

function CreateToken(props: {
  workspaces: Schemas["WorkspaceRole"][];
  onCreated: (pat: Created) => Promise<void>;
}) {
  const create = useSubmit(async (form) => {
    const days = String(form.get("expiry"));
    const workspace = String(form.get("workspace"));
    const pat = await api("post", "/api/tokens", {
      body: {
        name: String(form.get("name")).trim(),
        expires_in_days: days === "never" ? null : Number(days),
        workspace_id: workspace === "all" ? null : workspace,
        access: form.get("access") === "read" ? "read" : "write",
      },
    });
    await props.onCreated(pat);
  });
  return (
    <form onSubmit={create.onSubmit} class="card" aria-labelledby="create-token">
      <h2 id="create-token">Create a token</h2>
      <label for="token-name">Name</label>
      <input id="token-name" name="name" required maxLength={100} placeholder="laptop script" />
      <label for="token-expiry">Expires</label>
      <select id="token-expiry" name="expiry">
        <option value="30">in 30 days</option>
        <option value="90" selected>
          in 90 days
        </option>
        <option value="365">in 365 days</option>
        <option value="never">never</option>
      </select>
      <label for="token-workspace">Works in</label>
      <select id="token-workspace" name="workspace">
        <option value="all">all your workspaces</option>
        {props.workspaces.map((w) => (
          <option key={w.id} value={w.id}>
            only {w.name}
          </option>
        ))}
      </select>
      <label for="token-access">May</label>
      <select id="token-access" name="access">
        <option value="write">read and write</option>
        <option value="read">read only</option>
      </select>
      <button type="submit" disabled={create.busy}>
        Create token
      </button>
      <ErrorNote error={create.error} />
    </form>
  );
}

function Reveal({ created, onDone }: { created: Created; onDone: () => void }) {
  const [stored, setStored] = useState(false);
  const login = `tollgate login --server ${location.origin} --token ${created.token}`;
  return (
    <section class="card reveal" aria-labelledby="reveal-title">
      <h2 id="reveal-title">Your new token “{created.name}”</h2>
      <p>
        <strong>This is the only time it is shown.</strong> Store it somewhere safe now.
      </p>
      <Copyable text={created.token} label="new token" />
      <p>To use it from this computer's command line:</p>
      <Copyable text={login} label="login command" />
      <label class="check">
        <input
          type="checkbox"
          checked={stored}
          onChange={(e) => setStored((e.currentTarget as HTMLInputElement).checked)}
        />
        I have stored this token
      </label>
      <button type="button" disabled={!stored} onClick={onDone}>
        Done
      </button>
    </section>
  );
}
