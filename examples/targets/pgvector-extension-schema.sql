-- The chunk table of examples/targets/pgvector.yaml with the pgvector extension (vector(384), <=>),
-- row-level security as the tenancy mechanism. Run as the table owner:  psql -d rag -f pgvector-extension-schema.sql
-- Without the extension use pgvector-schema.sql (real[] and a SQL cosine function); `vector: auto`
-- in the target config picks the right one.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS ragward_chunks (
  id        text PRIMARY KEY,
  doc_id    text NOT NULL,
  tenant    text NOT NULL,
  text      text NOT NULL,
  metadata  jsonb NOT NULL DEFAULT '{}',
  embedding vector(384) NOT NULL
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
