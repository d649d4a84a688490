-- Cluster mode (docs/architecture.md, "Scheduling"): why each deployment went where it did, and what operators
-- asked of nodes through the platform that Swarm does not know yet.

-- The scheduler's last decision for a deployment, for ExplainPlacement: every node's verdict
-- (the constraint it failed and why, or its scores), the strategy, the placements or the reason
-- nothing fitted. One row per deployment, replaced by each decision.
CREATE TABLE placements (
  deployment_id uuid PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
  decided_at timestamptz NOT NULL DEFAULT now(),
  strategy text NOT NULL,
  explanation jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- A node's availability and labels as set through the platform (DrainNode, ActivateNode,
-- LabelNode), until the controller has applied them to Swarm (applied = true). While a row is
-- not applied, the agent's sync does not overwrite node_metadata with what Swarm still says.
CREATE TABLE node_specs (
  node_id text PRIMARY KEY,
  availability text NOT NULL DEFAULT 'active' CHECK (availability IN ('active', 'drain')),
  labels jsonb NOT NULL DEFAULT '{}'::jsonb,
  applied boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
