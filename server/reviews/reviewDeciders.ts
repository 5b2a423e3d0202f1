import { atLeast } from '../../shared/rules/roles.ts'
import type { Identity } from '../auth/index.ts'
import type { ReviewItem } from './reviewItem.ts'

/**
 * Who may decide a review item: whoever the rule that held it would have let make the change
 * directly. `financial-review` holds figures changed below manager, so managers and admins decide
 * them; `legal-review` holds legal text edited without legal rights, so legal users (a manager or
 * above: deciding is a reviewer's job, not an editor's) and admins decide it. Admins decide every
 * item, as the admin API always let them. A rule this list does not name is decided by admins only,
 * so a new holding rule is never opened to more people by accident.
 */
const DECIDERS: Record<string, (identity: Identity) => boolean> = {
  'financial-review': (identity) => atLeast(identity.role, 'manager'),
  'legal-review': (identity) => identity.legal && atLeast(identity.role, 'manager'),
}

/** May `identity` approve or reject `item`? (Tenant scoping is the caller's: items are read by tenant.) */
export const mayDecide = (identity: Identity, item: Pick<ReviewItem, 'ruleId' | 'tenant'>): boolean =>
  identity.tenant === item.tenant && (identity.role === 'admin' || (DECIDERS[item.ruleId]?.(identity) ?? false))

/** May `identity` decide any kind of item (whether the app shows them the review inbox)? */
export const decidesAnything = (identity: Identity): boolean =>
  identity.role === 'admin' || Object.values(DECIDERS).some((decides) => decides(identity))
