/**
 * Feast's `FieldStatus` (`protos/feast/serving/ServingService.proto`). Morsel keeps statuses as
 * these small integers internally and names them only at the edges.
 */
export const FieldStatus = {
  INVALID: 0,
  /** A value was found and is within the view's ttl. */
  PRESENT: 1,
  /** A value was found and is an explicit null. */
  NULL_VALUE: 2,
  /** Nothing is stored for this entity and feature. */
  NOT_FOUND: 3,
  /** A value was found but is older than the view's ttl; Morsel withholds it (the value is null). */
  OUTSIDE_MAX_AGE: 4,
} as const

export type FieldStatusName = keyof typeof FieldStatus
export type FieldStatusCode = (typeof FieldStatus)[FieldStatusName]

export const FIELD_STATUS_NAMES: readonly FieldStatusName[] = ['INVALID', 'PRESENT', 'NULL_VALUE', 'NOT_FOUND', 'OUTSIDE_MAX_AGE']
