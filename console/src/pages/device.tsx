// Approving a device login (`tollgate login` on some machine, RFC 8628): the person
// checks who asks — the client's name, the workspace, the code their terminal shows —
// and approves or denies it. Reached at /console/device, with ?user_code= when the
// client opened the browser itself.
import { useEffect, useState } from "preact/hooks";

import { api, describe, type Schemas } from "../api";
import { ErrorNote, useReady, useSubmit, When } from "../ui";

type Pending = Schemas["Pending"];

export function Device() {
  const given = new URLSearchParams(location.search).get("user_code") ?? "";
  const [code, setCode] = useState(given);
  const [pending, setPending] = useState<Pending>();
  const [error, setError] = useState<string>();
  const [decided, setDecided] = useState<"approved" | "denied">();
  const [looked, setLooked] = useState(!given);
  const [busy, setBusy] = useState(false);
  useReady(looked);

  const lookup = async (typed: string) => {
    try {
      setPending(await api("post", "/api/auth/device/lookup", { body: { user_code: typed } }));
      setCode(typed);
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    } finally {
      setLooked(true);
    }
  };
  useEffect(() => {
    if (given) void lookup(given);
  }, []);
  const enter = useSubmit(async (form) => lookup(String(form.get("user_code")).trim()));
  const decide = async (approve: boolean) => {
    setBusy(true);
    try {
      const path = approve ? "/api/auth/device/approve" : "/api/auth/device/deny";
      await api("post", path, { body: { user_code: code } });
      setDecided(approve ? "approved" : "denied");
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  };

  if (decided) {
    return (
      <section class="narrow" aria-labelledby="device-title">
        <h1 id="device-title">Device login</h1>
        <p class={decided === "approved" ? "ok" : ""} role="status" data-testid="device-decided">
          {decided === "approved"
            ? `Approved: ${pending?.client_name ?? "the device"} is signing in. You can close this page.`
            : "Denied: the device is not signed in."}
        </p>
      </section>
    );
  }
  return (
    <section class="narrow" aria-labelledby="device-title">
      <h1 id="device-title">Device login</h1>
      {pending ? (
        <div class="card" data-testid="device-request">
          <p>
            <strong>{pending.client_name}</strong> asks to sign in as you
            {pending.workspace_id
              ? `, for the workspace ${pending.workspace_name ?? pending.workspace_id} only`
              : ", for all your workspaces"}
            .
          </p>
          <p>
            Approve only if this code is the one your terminal shows:{" "}
            <code class="nowrap" data-testid="device-code">
              {code.toUpperCase()}
            </code>
          </p>
          <p class="muted" data-testid="device-origin">
            Asked <When at={pending.created_at} />
            {pending.client_address ? ` from ${pending.client_address}` : ""}. It gets a new
            token that lasts 90 days; this request ends <When at={pending.expires_at} />.
          </p>
          <button type="button" disabled={busy} onClick={() => decide(true)}>
            Approve
          </button>
          <button type="button" class="danger" disabled={busy} onClick={() => decide(false)}>
            Deny
          </button>
        </div>
      ) : (
        <form onSubmit={enter.onSubmit}>
          <p>Enter the code that `tollgate login` shows.</p>
          <label for="user-code">Code</label>
          <input
            id="user-code"
            name="user_code"
            autocomplete="off"
            autocapitalize="characters"
            placeholder="XXXX-XXXX"
            defaultValue={code}
            required
          />
          <button type="submit" disabled={enter.busy}>
            Continue
          </button>
          <ErrorNote error={enter.error} />
        </form>
      )}
      <ErrorNote error={error} />
    </section>
  );
}
