// The workspace's events, newest last, a page at a time.
import { useState } from "preact/hooks";

import { api, describe, type Schemas } from "../api";
import { ErrorNote, Loading, useData, useReady, When, Head } from "../ui";

type Event = Schemas["Event"];

export function Activity({ workspace }: { workspace: Schemas["WorkspaceRole"] }) {
  const first = useData(
    () => api("get", "/api/workspaces/{id}/events", { params: { id: workspace.id } }),
    [workspace.id],
  );
  const [more, setMore] = useState<Event[]>([]);
  const [error, setError] = useState<string>();
  useReady(first.data !== undefined);
  const events = [...(first.data?.events ?? []), ...more];
  const loadMore = async () => {
    const last = events[events.length - 1];
    try {
      const page = await api("get", "/api/workspaces/{id}/events", {
        params: { id: workspace.id },
        query: { after: String(last?.id ?? 0) },
      });
      setMore([...more, ...page.events]);
    } catch (e) {
      setError(describe(e));
    }
  };
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <ErrorNote error={first.error ?? error} />
      {first.data === undefined ? (
        <Loading />
      ) : events.length === 0 ? (
        <p class="muted">Nothing has happened here yet.</p>
      ) : (
        <table>
          <Head columns={["When", "What", "Details"]} />
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="event" data-kind={e.kind}>
                <td>
                  <When at={e.created_at} />
                </td>
                <td>
                  <code>{e.kind}</code>
                </td>
                <td class="details">{summary(e.payload)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {first.data && first.data.events.length >= 100 && (
        <button type="button" class="secondary" onClick={loadMore}>
          Load more
        </button>
      )}
    </section>
  );
}

function summary(payload: unknown): string {
  if (typeof payload !== "object" || payload === null) return String(payload ?? "");
  return Object.entries(payload)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}
