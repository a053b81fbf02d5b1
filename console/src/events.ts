// The workspace's events, live: one WebSocket per page (the session cookie goes with
// it, and the server lets it through only from this origin). Lost, it reconnects from
// the last id seen (?after=), with a growing pause; the pages keep their polling as the
// fallback, so a stream that cannot open costs only speed.
import { useEffect, useRef, useState } from "preact/hooks";

import { api } from "./api";

export type StreamEvent = { id: number; kind: string; payload: Record<string, unknown>; created_at: string };

/** The close codes that say the credential or the membership ended (not worth retrying). */
const ENDED = new Set([4401, 4403]);
const FIRST_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 30000;

/**
 * Calls `onEvent` with each event of `workspace` as it commits, and once with
 * `{kind: "stream:opened"}` whenever the stream (re)opens, so a view catches up on what
 * it may have missed. Returns whether the stream is open now.
 */
export function useEvents(workspace: string, onEvent: (event: StreamEvent) => void): boolean {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const [live, setLive] = useState(false);
  useEffect(() => {
    let socket: WebSocket | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let after: number | undefined;
    let pause = FIRST_PAUSE_MS;
    const connect = () => {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const query = after === undefined ? "" : `?after=${after}`;
      const path = `/api/workspaces/${encodeURIComponent(workspace)}/events/stream${query}`;
      socket = new WebSocket(`${scheme}//${location.host}${path}`);
      socket.onopen = () => {
        pause = FIRST_PAUSE_MS;
        setLive(true);
        handler.current({ id: after ?? 0, kind: "stream:opened", payload: {}, created_at: new Date().toISOString() });
      };
      socket.onmessage = (message) => {
        let event: StreamEvent;
        try {
          event = JSON.parse(String(message.data)) as StreamEvent;
        } catch {
          return;
        }
        after = event.id;
        handler.current(event);
      };
      socket.onclose = (close) => {
        setLive(false);
        if (stopped) return;
        if (ENDED.has(close.code)) {
          // Signed out, or no longer a member: an API call says which, and shows it.
          void api("get", "/api/me").catch(() => {});
          return;
        }
        // Spread: every console that lost its stream at once (an origin restarting)
        // does not come back in the same instant.
        timer = setTimeout(connect, pause * (0.5 + Math.random()));
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [workspace]);
  return live;
}
