import type { RouteKey, RouteWriteResult } from './route.ts';

/** At most this many operations per bulk change (POST /api/v1/routes/batch). */
export const MAX_BATCH_OPERATIONS = 500;

export const BATCH_OPS = ['create', 'activate', 'deactivate'] as const;
export type BatchOp = (typeof BATCH_OPS)[number];

/** One operation of a bulk change: what the single write of the same name does. */
export type BatchOperation =
  | { readonly op: 'create'; readonly key: RouteKey; readonly url: string }
  | { readonly op: 'activate' | 'deactivate'; readonly key: RouteKey };

/** Why one operation made the whole batch fail: its index in `operations` and the reason. */
export interface BatchFailure {
  readonly index: number;
  /** `validation_error`, `route_not_found` or `duplicate_route`. */
  readonly error: string;
  readonly message: string;
  readonly field?: string;
  readonly rule?: string;
}

/** What the store did with a batch: every operation applied and committed, or nothing (missing routes). */
export type BatchApplied =
  | { readonly applied: true; readonly results: readonly RouteWriteResult[] }
  | { readonly applied: false; readonly missing: readonly number[] };
