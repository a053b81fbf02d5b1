// Signing in with an emailed code: the address, then the six digits from the mail.
import { useState } from "preact/hooks";

import { api } from "../api";
import { ErrorNote, useSubmit } from "../ui";

export function SignIn({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState<string>();
  const send = useSubmit(async (form) => {
    const address = String(form.get("email")).trim();
    await api("post", "/api/auth/send-code", { body: { email: address } });
    setEmail(address);
  });
  const verify = useSubmit(async (form) => {
    const code = String(form.get("code")).trim();
    await api("post", "/api/auth/verify-code", { body: { email, code } });
    await onSignedIn();
  });
  return (
    <main id="main" class="narrow">
      <h1>Sign in to Tollgate</h1>
      {email === undefined ? (
        <form onSubmit={send.onSubmit}>
          <label for="email">Email address</label>
          <input id="email" name="email" type="email" autocomplete="email" required />
          <button type="submit" disabled={send.busy}>
            Email me a code
          </button>
          <ErrorNote error={send.error} />
        </form>
      ) : (
        <form onSubmit={verify.onSubmit}>
          <p>
            If <strong>{email}</strong> has an account, a six-digit code is on its way. It is
            valid for 10 minutes.
          </p>
          <label for="code">Code</label>
          <input
            id="code"
            name="code"
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
          />
          <button type="submit" disabled={verify.busy}>
            Sign in
          </button>
          <button type="button" class="secondary" onClick={() => setEmail(undefined)}>
            Use another address
          </button>
          <ErrorNote error={verify.error} />
        </form>
      )}
    </main>
  );
}
