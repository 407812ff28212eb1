-- A multi-tenant chunk table with row-level security, as examples/targets/pgvector.yaml expects.
-- Run as the table owner (not as the application's role):  psql -d rag -f pgvector-schema.sql
-- The application connects as rag_app, which is not the owner and has no BYPASSRLS, so the
-- policies apply to it. Each request sets app.tenant inside its transaction.
--
-- With the pgvector extension (CREATE EXTENSION vector) use "embedding vector(384)" and the <=>
-- operator instead; ragward picks the right one (vector: auto). Without it, embeddings are real[]
-- and cosine distance is this SQL function.
CREATE OR REPLACE FUNCTION ragward_cosine_distance(a real[], b real[]) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT 1 - sum(x * y) / nullif(sqrt(sum(x * x)) * sqrt(sum(y * y)), 0)
  FROM unnest(a, b) AS t(x, y)
$$;

CREATE TABLE IF NOT EXISTS ragward_chunks (
  id        text PRIMARY KEY,
  doc_id    text NOT NULL,
  tenant    text NOT NULL,
  text      text NOT NULL,
  metadata  jsonb NOT NULL DEFAULT '{}',
  embedding real[] NOT NULL
);

ALTER TABLE ragward_chunks ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON ragward_chunks;
CREATE POLICY tenant_isolation ON ragward_chunks
  USING (tenant = current_setting('app.tenant', true))
  WITH CHECK (tenant = current_setting('app.tenant', true));

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rag_app') THEN CREATE ROLE rag_app LOGIN; END IF;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON ragward_chunks TO rag_app;
