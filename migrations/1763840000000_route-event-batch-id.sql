-- Up Migration
-- Bulk changes (issue 15): every event of one POST /api/v1/routes/batch carries the batch's id. The batch
-- runs the single-write functions in one transaction after `set_config('tm.batch_id', <uuid>, true)`; the
-- column's default copies the setting into each outbox row, so the write functions stay as they are and
-- the row's RETURNING (the event the writer publishes) carries it. The setting is transaction-local: a
-- later transaction on the same connection reads '' (NULL here). Single writes leave it NULL.
ALTER TABLE route_events ADD COLUMN batch_id uuid
  DEFAULT NULLIF(current_setting('tm.batch_id', true), '')::uuid;

-- Down Migration
ALTER TABLE route_events DROP COLUMN IF EXISTS batch_id;
