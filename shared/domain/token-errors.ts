import { AppError } from './errors.ts';

/** A principal name already held by a live token on one of the tenants (names mean one principal). */
export class PrincipalTakenError extends AppError {
  readonly status = 409;
  readonly code = 'principal_taken';
}

/** Revoking the last active admin token would leave nobody able to administer tokens. */
export class LastAdminTokenError extends AppError {
  readonly status = 409;
  readonly code = 'last_admin_token';
}
