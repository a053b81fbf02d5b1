// Members: who may do what, adding by email, changing roles, and removing someone —
// after a preview of exactly what the removal will stop.
import { useState } from "preact/hooks";

import { api, describe, type Schemas } from "../api";
import { useEvents } from "../events";
import type { Me } from "../main";
import { Confirm, ErrorNote, Loading, useData, useReady, useSubmit, When, Head } from "../ui";

type Member = Schemas["MemberView"];
type Preview = Schemas["Stopped"];

const ROLES: [string, string][] = [
  ["owner", "everything, including other owners and the workspace itself"],
  ["admin", "adds and removes admins and members, adds computers for any member, revokes daemon tokens"],
  ["member", "uses the workspace: its runtimes, agents and tasks, and their own tokens"],
];

export function Members({ workspace, me }: { workspace: Schemas["WorkspaceRole"]; me: Me }) {
  const id = workspace.id;
  const members = useData(() => api("get", "/api/workspaces/{id}/members", { params: { id } }), [id]);
  const [removing, setRemoving] = useState<{ member: Member; preview: Preview }>();
  const [error, setError] = useState<string>();
  useReady(members.data !== undefined);
  // Live: anyone added, removed or changed elsewhere shows here at once.
  useEvents(id, (event) => {
    if (/^member:|^stream:opened$/.test(event.kind)) void members.reload();
  });
  const manages = workspace.role === "owner" || workspace.role === "admin";
  const mayManage = (m: Member) =>
    manages && m.user_id !== me.user_id && (workspace.role === "owner" || m.role !== "owner");
  const grantable = workspace.role === "owner" ? ["member", "admin", "owner"] : ["member", "admin"];

  const changeRole = async (m: Member, role: string) => {
    try {
      await api("patch", "/api/workspaces/{id}/members/{user_id}", {
        params: { id, user_id: m.user_id },
        body: { role },
      });
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
    await members.reload();
  };
  const previewRemoval = async (m: Member) => {
    try {
      const preview = await api("get", "/api/workspaces/{id}/members/{user_id}/removal-preview", {
        params: { id, user_id: m.user_id },
      });
      setError(undefined);
      setRemoving({ member: m, preview });
    } catch (e) {
      setError(describe(e));
    }
  };
  const add = useSubmit(async (form) => {
    await api("post", "/api/workspaces/{id}/members", {
      params: { id },
      body: { email: String(form.get("email")).trim(), role: String(form.get("role")) },
    });
    (document.getElementById("member-email") as HTMLInputElement).value = "";
    await members.reload();
  });

  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <dl class="roles">
        {ROLES.map(([role, may]) => (
          <div key={role}>
            <dt>{role}</dt>
            <dd>{may}</dd>
          </div>
        ))}
      </dl>
      <ErrorNote error={members.error ?? error} />
      {members.data === undefined ? (
        <Loading />
      ) : (
        <table>
          <Head columns={["Member", "Role", "Joined", ""]} />
          <tbody>
            {members.data.map((m) => (
              <tr key={m.user_id} data-testid="member" data-email={m.email}>
                <td>
                  {m.name ? `${m.name} ` : ""}
                  <span class={m.name ? "muted" : ""}>{m.email}</span>
                  {m.user_id === me.user_id && <span class="badge">you</span>}
                </td>
                <td>
                  {mayManage(m) ? (
                    <select
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      onChange={(e) => changeRole(m, (e.currentTarget as HTMLSelectElement).value)}
                    >
                      {grantable.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                <td>
                  <When at={m.joined_at} />
                </td>
                <td>
                  {mayManage(m) && (
                    <button type="button" class="danger" onClick={() => previewRemoval(m)}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {manages && (
        <form onSubmit={add.onSubmit} class="card" aria-labelledby="add-member">
          <h3 id="add-member">Add a member</h3>
          <label for="member-email">Email address</label>
          <input id="member-email" name="email" type="email" required />
          <label for="member-role">Role</label>
          <select id="member-role" name="role">
            {grantable.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit" disabled={add.busy}>
            Add member
          </button>
          <ErrorNote error={add.error} />
        </form>
      )}
      {removing && (
        <Confirm
          title={`Remove ${removing.member.email}?`}
          confirm="Remove member"
          onConfirm={async () => {
            await api("delete", "/api/workspaces/{id}/members/{user_id}", {
              params: { id, user_id: removing.member.user_id },
            });
            await members.reload();
          }}
          onClose={() => setRemoving(undefined)}
        >
          <p>Removing them stops, at once and everywhere:</p>
          <ul data-testid="removal-preview">
            <li>{count(removing.preview.daemons, "daemon")}</li>
            <li>{count(removing.preview.runtimes, "runtime")}</li>
            <li>{count(removing.preview.agents, "agent")}</li>
            <li>{count(removing.preview.tasks, "task")}</li>
            <li>{count(removing.preview.bound_tokens, "token bound to this workspace", "tokens bound to this workspace")}</li>
          </ul>
          <p>
            The agents and live tasks on their runtimes stop too, whoever created them;
            nothing else acting for anyone else is touched.
          </p>
        </Confirm>
      )}
    </section>
  );
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
