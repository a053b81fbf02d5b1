// The person's workspaces, with their role in each; creating one.
import { api } from "../api";
import { ErrorNote, Loading, useData, useReady, useSubmit } from "../ui";

export function Workspaces() {
  const { data, error, reload } = useData(() => api("get", "/api/workspaces"));
  useReady(data !== undefined);
  const create = useSubmit(async (form) => {
    const created = await api("post", "/api/workspaces", {
      body: { name: String(form.get("name")).trim() },
    });
    await reload();
    location.hash = `#/workspaces/${created.id}/members`;
  });
  return (
    <>
      <h1>Workspaces</h1>
      <ErrorNote error={error} />
      {data === undefined ? (
        <Loading />
      ) : data.length === 0 ? (
        <p class="muted">You are in no workspace yet.</p>
      ) : (
        <ul class="list">
          {data.map((w) => (
            <li key={w.id}>
              <a href={`#/workspaces/${w.id}/members`}>{w.name}</a>{" "}
              <span class="badge">{w.role}</span>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={create.onSubmit} class="card" aria-labelledby="create-workspace">
        <h2 id="create-workspace">Create a workspace</h2>
        <label for="workspace-name">Name</label>
        <input id="workspace-name" name="name" required maxLength={100} />
        <button type="submit" disabled={create.busy}>
          Create workspace
        </button>
        <ErrorNote error={create.error} />
      </form>
    </>
  );
}
