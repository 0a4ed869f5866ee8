// The signed-in role (GET /me, read once a page load): buttons for what the role may not do
// are shown disabled, saying which role they need, rather than failing with a 403.
import { useEffect, useState } from "react";
import { api } from "../api/client";

const ORDER = ["viewer", "operator", "admin"];
let asked: Promise<string | null> | null = null;

/** Whether ``role`` may do what ``needed`` may (each role more than the one before). */
export function allows(role: string | null, needed: string): boolean {
  return role != null && ORDER.indexOf(role) >= ORDER.indexOf(needed);
}

/** The caller's role; null until known (so nothing is enabled before it is). */
export function useRole(): string | null {
  const [role, setRole] = useState<string | null>(null);
  useEffect(() => {
    asked ??= api.me().then((m) => m.role, () => ((asked = null), null));
    let live = true;
    void asked.then((r) => live && setRole(r));
    return () => {
      live = false;
    };
  }, []);
  return role;
}

/** A disabled button's tooltip for a role that may not. */
export function needsNote(role: string | null, needed: string): string | undefined {
  return allows(role, needed) ? undefined : `needs the ${needed} role${role ? ` (you are ${role})` : ""}`;
}
