import { ROLES, type Role } from '../schemas.ts'

/**
 * Role ranks for the rules (viewer < editor < manager < admin). Kept here rather than
 * imported from server/ so the rules stay usable in the client; the ranks are the order of
 * `ROLES`, exactly as the server's identity module derives them.
 */

const ROLE_RANK: ReadonlyMap<string, number> = new Map(ROLES.map((role, rank) => [role, rank]))

/** True for one of the four role names (values read from a document are untrusted). */
export const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLE_RANK.has(value)

/** viewer 0, editor 1, manager 2, admin 3. */
export const roleRank = (role: Role): number => ROLE_RANK.get(role) ?? 0

/** True when `role` is `min` or above. */
export const atLeast = (role: Role, min: Role): boolean => roleRank(role) >= roleRank(min)

/** "an editor", "a manager": a role as a noun phrase for messages. */
export const withArticle = (role: Role): string => (/^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`)
