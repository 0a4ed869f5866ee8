import type { ReactNode } from "react";

export function ErrorNote({ error }: { error: string | null }) {
  return error ? <div className="error" role="alert">{error}</div> : null;
}

export function Loading({ what }: { what: string }) {
  return <div className="muted pad">Loading {what}…</div>;
}

export function PageHeader(props: { title: ReactNode; sub?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.sub && <div className="muted sub">{props.sub}</div>}
      </div>
      {props.actions && <div className="actions">{props.actions}</div>}
    </header>
  );
}
