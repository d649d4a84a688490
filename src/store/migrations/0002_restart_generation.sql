-- A restart recreates a deployment's containers (so that new env vars apply) without a new
-- build: containers are named after the build and this number.
ALTER TABLE deployments ADD COLUMN restart_generation integer NOT NULL DEFAULT 0;

-- The port the built image's app listens on (EXPOSE, or 8080 for generated Dockerfiles).
ALTER TABLE builds ADD COLUMN port integer NOT NULL DEFAULT 8080;
