import { useState } from "react";

/** A modal asking to confirm an action, with the reason recorded beside it. */
export function Confirm(props: { title: string; action: string; onConfirm: (reason: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState("");
  return (
    <div className="modal-back" role="dialog" aria-modal="true">
      <form className="modal" onSubmit={(e) => { e.preventDefault(); props.onConfirm(reason); }}>
        <h3>{props.title}</h3>
        <label>Reason <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="why (kept in the alias history)" autoFocus /></label>
        <div className="row">
          <button type="submit" className="primary">{props.action}</button>
          <button type="button" onClick={props.onCancel}>Cancel</button>
        </div>
      </form>
    </div>
  );
}
