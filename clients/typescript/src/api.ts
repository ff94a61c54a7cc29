// Provisional API types, until docs/openapi.json lands and they are derived from its generated types.

export interface RouteKey {
  readonly tenant: string;
  readonly service: string;
  readonly env: string;
  readonly version: string;
}

export interface Route extends RouteKey {
  url: string;
  is_active: boolean;
  revision: number;
}

export interface RouteDetail extends Route {
  created_at: string;
  updated_at: string;
  created_by: string;
  updated_by: string;
}

export interface RouteWriteResponse {
  message: string;
  outcome: 'created' | 'updated' | 'unchanged' | 'activated' | 'deactivated' | 'rolled_back';
  route: Route;
  restored_revision?: number;
}

export interface CreateRouteBody extends RouteKey {
  url: string;
}

export interface RollbackRouteBody extends RouteKey {
  to_revision?: number;
}

export interface ListRoutesQuery {
  tenant: string;
  service?: string;
  env?: string;
  active?: boolean;
  limit?: number;
  cursor?: string;
}

export interface RouteList {
  routes: Route[];
  next_cursor: string | null;
}

export interface AuditEvent {
  event_id: string;
  event_type: string;
  action: string;
  route: RouteKey;
  url: string | null;
  previous_url: string | null;
  previous_state: string | null;
  revision: number;
  restored_revision: number | null;
  changed_by: string;
  changed_by_token_id: string | null;
  correlation_id: string | null;
  occurred_at: string;
  processed_at: string;
}

export interface AuditPage {
  events: AuditEvent[];
  count: number;
  next_cursor: string | null;
}

export interface PageQuery {
  limit?: number;
  cursor?: string;
}

export interface Token {
  id: string;
  principal: string;
  role: 'resolver' | 'writer' | 'admin';
  tenants: string[] | '*';
  status: string;
  created_at: string;
  created_by: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

export interface CreateTokenBody {
  principal: string;
  role: Token['role'];
  tenants: string[] | '*';
  expires_in_days?: number;
}

export interface TokenCreated {
  message: string;
  token: Token;
  secret: string;
}

export interface TokenList {
  tokens: Token[];
  count: number;
}

export interface RevokeTokenBody {
  id: string;
  allow_last_admin?: boolean;
}

export interface TokenRevoked {
  outcome: string;
  token: Token;
}

export interface TokenAuditEntry {
  seq: number;
  token_id: string;
  action: string;
  actor: string;
  actor_token_id: string | null;
  principal: string;
  role: string;
  tenants: string[] | '*';
  expires_at: string;
  correlation_id: string | null;
  occurred_at: string;
}

export interface TokenAuditPage {
  entries: TokenAuditEntry[];
  count: number;
  next_cursor: string | null;
}

export interface Health {
  status: string;
  service: string;
}
