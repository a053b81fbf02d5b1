// The console's only way to the server: the documented JSON API, same origin, with the
// session cookie (HttpOnly: this code never sees it) and, on unsafe methods, the CSRF
// token copied from the readable `tollgate_csrf` cookie. Types come from the API's own
// description (api.gen.ts, generated from /openapi.json; scripts/test fails on drift).
import type { components, paths } from "./api.gen";

export type Schemas = components["schemas"];

type Method = "get" | "post" | "patch" | "delete";
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<X> = X extends { content: { "application/json": infer B } } ? B : void;
type Ok<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? Json<R[200]>
    : 201 extends keyof R
      ? Json<R[201]>
      : 202 extends keyof R
        ? Json<R[202]>
        : void
  : never;
type Body<O> = O extends { requestBody?: { content: { "application/json": infer B } } }
  ? B
  : undefined;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function csrfToken(): string | undefined {
  const prefix = "tollgate_csrf=";
  return document.cookie
    .split("; ")
    .find((c) => c.startsWith(prefix))
    ?.slice(prefix.length);
}

/** Notified when an answer says the session is over, so the page shows sign-in. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/**
 * `method` on the route `path` (a template of the description: `{id}` filled from
 * `params`, each value percent-encoded), with `body` as JSON.
 */
export async function api<P extends keyof paths, M extends Method & keyof paths[P]>(
  method: M,
  path: P,
  options: { params?: Record<string, string>; query?: Record<string, string>; body?: Body<Op<P, M>> } = {},
): Promise<Ok<Op<P, M>>> {
  let url = String(path).replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = options.params?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
  if (options.query) url += `?${new URLSearchParams(options.query)}`;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "get") {
    const csrf = csrfToken();
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  const response = await fetch(url, {
    method: method.toUpperCase(),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page): the status still says what happened.
    data = undefined;
  }
  if (!response.ok) {
    const message =
      typeof data === "object" && data !== null && "error" in data
        ? String((data as { error: unknown }).error)
        : `${response.status} ${response.statusText}`;
    if (response.status === 401) onSignedOut();
    throw new ApiError(response.status, message);
  }
  return data as Ok<Op<P, M>>;
}

/** The error's message for a person: the API's own words. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `could not reach the server (${error.message})`;
  return String(error);
}
