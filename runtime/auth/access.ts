/** Auth levels and access policies (docs/protocol.md#commands-and-access). */
export const AUTH_LEVELS = ["denied", "none", "basic", "admin"] as const;
export type AuthLevel = (typeof AUTH_LEVELS)[number];

const rank: Record<AuthLevel, number> = { denied: 0, none: 1, basic: 2, admin: 3 };

export function authRank(level: AuthLevel): number {
  return rank[level];
}

/** `a >= b` in the ordering denied < none < basic < admin. */
export function authAtLeast(a: AuthLevel, b: AuthLevel): boolean {
  return rank[a] >= rank[b];
}

/** Parses "none" | "basic" | "admin"; anything else is `denied`, as `auth_from_string` does. */
export function authFromString(s: string): AuthLevel {
  return s === "none" || s === "basic" || s === "admin" ? s : "denied";
}

/** Access policy of a category, or the actual access of an invoker (`Message.access`). */
export interface Access {
  readonly auth: AuthLevel;
  /** The invoker must be a recognised (proven, active) service node. */
  readonly remoteSN: boolean;
  /** This instance must be running in service-node mode. */
  readonly localSN: boolean;
}

export type AccessSpec = AuthLevel | Partial<Access>;

export function toAccess(spec: AccessSpec | undefined): Access {
  if (spec === undefined) return { auth: "none", remoteSN: false, localSN: false };
  if (typeof spec === "string") return { auth: spec, remoteSN: false, localSN: false };
  return { auth: spec.auth ?? "none", remoteSN: spec.remoteSN ?? false, localSN: spec.localSN ?? false };
}
