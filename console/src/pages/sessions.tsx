// Every live session of the person, the current one marked; end one, or all others.
import { api } from "../api";
import { ErrorNote, Loading, useData, useReady, When, Head } from "../ui";
import { useState } from "preact/hooks";

export function Sessions() {
  const { data, error, reload } = useData(() => api("get", "/api/sessions"));
  const [actionError, setActionError] = useState<string>();
  useReady(data !== undefined);
  const act = async (work: () => Promise<unknown>) => {
    try {
      await work();
      setActionError(undefined);
      await reload();
    } catch (e) {
      setActionError(String((e as Error).message));
    }
  };
  return (
    <>
      <h1>Sessions</h1>
      <p>Every browser signed in as you. Signing a session out ends it everywhere within 2 seconds.</p>
      <ErrorNote error={error ?? actionError} />
      {data === undefined ? (
        <Loading />
      ) : (
        <>
          <table>
            <Head columns={["Browser", "Address", "Signed in", "Last seen", "Expires", ""]} />
            <tbody>
              {data.sessions.map((s) => (
                <tr key={s.id} data-testid="session">
                  <td>
                    {s.user_agent ?? "unknown"}
                    {s.current && <span class="badge">this session</span>}
                  </td>
                  <td>{s.ip ?? "unknown"}</td>
                  <td>
                    <When at={s.created_at} />
                  </td>
                  <td>
                    <When at={s.last_seen_at} never="not yet" />
                  </td>
                  <td>
                    <When at={s.expires_at} />
                  </td>
                  <td>
                    {!s.current && (
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          act(() => api("delete", "/api/sessions/{id}", { params: { id: s.id } }))
                        }
                      >
                        Sign out
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <button
            type="button"
            class="danger"
            disabled={data.sessions.length < 2}
            onClick={() => act(() => api("post", "/api/sessions/revoke-others"))}
          >
            Sign out all other sessions
          </button>
        </>
      )}
    </>
  );
}
