// Small pieces every page uses: loading data, a copy button, a confirmation dialog,
// times, and how errors are shown.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import { describe } from "./api";

/** Data loaded by `load`, reloaded by `reload()`; `error` is the API's own message. */
export function useData<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const reload = useCallback(async () => {
    try {
      setData(await load());
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    setData(undefined);
    void reload();
  }, [reload]);
  return { data, error, reload };
}

/** Marks the page interactive once its data is shown: the tests measure to this mark. */
export function useReady(ready: boolean): void {
  useEffect(() => {
    if (ready && document.documentElement.dataset.ready !== "1") {
      performance.mark("tollgate:ready");
      document.documentElement.dataset.ready = "1";
    }
  }, [ready]);
}

export function ErrorNote({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading() {
  return <p aria-busy="true">Loading…</p>;
}

/** A button that copies `text`; it says so for two seconds. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without clipboard permission: select the text so the person can copy it.
      const field = document.querySelector<HTMLElement>(`[data-copy="${label}"]`);
      if (field) window.getSelection()?.selectAllChildren(field);
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button type="button" class="secondary" onClick={copy} aria-label={`Copy ${label}`}>
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

/** A secret or command shown for copying, with its copy button. */
export function Copyable({ text, label }: { text: string; label: string }) {
  return (
    <div class="copyable">
      <code data-copy={label} data-testid={label}>
        {text}
      </code>
      <CopyButton text={text} label={label} />
    </div>
  );
}

/** A modal confirmation: `onConfirm` runs on the confirming button only. */
export function Confirm(props: {
  title: string;
  children: ComponentChildren;
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const confirm = async () => {
    setBusy(true);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (e) {
      setError(describe(e));
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} onClose={props.onClose} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      <ErrorNote error={error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={busy} onClick={confirm}>
          {props.confirm}
        </button>
      </div>
    </dialog>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function When({ at, never = "never" }: { at?: string | null; never?: string }) {
  if (!at) return <span class="muted">{never}</span>;
  const date = new Date(at);
  return <time dateTime={date.toISOString()}>{dateTime.format(date)}</time>;
}

/** Minutes and seconds until `until`, counting down each second; "expired" after. */
export function Countdown({ until }: { until: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.floor((new Date(until).getTime() - now) / 1000));
  if (left === 0) return <span class="error">expired</span>;
  const mm = String(Math.floor(left / 60));
  const ss = String(left % 60).padStart(2, "0");
  return (
    <span data-testid="countdown" role="timer">
      {mm}:{ss}
    </span>
  );
}

/** Runs `submit` from a form, showing its error; the form's own fields stay as typed. */
export function useSubmit(submit: (form: FormData) => Promise<void>) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await submit(new FormData(event.currentTarget as HTMLFormElement));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  return { onSubmit, error, busy };
}

/** A table's header row: its columns' names; an empty name is the actions column. */
export function Head({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((name, i) => (
          <th key={i} scope="col">
            {name || <span class="visually-hidden">Actions</span>}
          </th>
        ))}
      </tr>
    </thead>
  );
}
