-- A build someone cancelled (CancelBuild) ends as 'cancelled', neither failed nor succeeded.
ALTER TABLE builds DROP CONSTRAINT builds_status_check;
ALTER TABLE builds ADD CONSTRAINT builds_status_check
  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'));
