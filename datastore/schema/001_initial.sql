-- Tsumugi workspace, schema 1: the data model of DESIGN.md.
-- Times are UTC ISO-8601 text with milliseconds ("2026-11-24T10:00:00.000Z"), written by the
-- application; lease expiry is integer Unix milliseconds because it is compared in hot queries.

CREATE TABLE accounts (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL UNIQUE,
  role          TEXT NOT NULL CHECK (role IN ('annotator', 'reviewer', 'admin', 'service')),
  password_hash TEXT,
  active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at    TEXT NOT NULL
);

CREATE TABLE sources (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE,
  licence         TEXT NOT NULL,
  redistributable INTEGER NOT NULL DEFAULT 0 CHECK (redistributable IN (0, 1)),
  url             TEXT,
  imported_at     TEXT NOT NULL
);

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  config_json TEXT NOT NULL DEFAULT '{}',
  snapshot_id INTEGER REFERENCES snapshots(id),
  base_model  TEXT,
  status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
  output_dir  TEXT,
  started_at  TEXT NOT NULL,
  finished_at TEXT
);

CREATE TABLE checkpoints (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id),
  step         INTEGER NOT NULL,
  path         TEXT NOT NULL,
  metrics_json TEXT NOT NULL DEFAULT '{}',
  created_at   TEXT NOT NULL,
  UNIQUE (run_id, step)
);

CREATE TABLE run_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  step   INTEGER NOT NULL,
  name   TEXT NOT NULL,
  value  REAL,
  PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;

CREATE TABLE messages (
  id                   INTEGER PRIMARY KEY,
  parent_id            INTEGER REFERENCES messages(id),
  tree_id              INTEGER NOT NULL,
  role                 TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  text                 TEXT NOT NULL,
  author_id            INTEGER NOT NULL REFERENCES accounts(id),
  origin               TEXT NOT NULL DEFAULT 'human' CHECK (origin IN ('human', 'model', 'import')),
  origin_checkpoint_id INTEGER REFERENCES checkpoints(id),
  source_id            INTEGER REFERENCES sources(id),
  meta_json            TEXT,
  status               TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'needs_fix', 'rejected', 'deleted')),
  revision             INTEGER NOT NULL DEFAULT 1,
  revised_by           INTEGER REFERENCES accounts(id),
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL
);
CREATE INDEX messages_parent ON messages(parent_id);
CREATE INDEX messages_tree ON messages(tree_id);
CREATE INDEX messages_author ON messages(author_id);
CREATE INDEX messages_status ON messages(status);

-- Every text a message had before its current one (the current text is messages.text):
-- revision N here is the text that revision N + 1 replaced, with who wrote it and when.
CREATE TABLE message_revisions (
  message_id INTEGER NOT NULL REFERENCES messages(id),
  revision   INTEGER NOT NULL,
  text       TEXT NOT NULL,
  author_id  INTEGER NOT NULL REFERENCES accounts(id),
  created_at TEXT NOT NULL,
  PRIMARY KEY (message_id, revision)
) WITHOUT ROWID;

CREATE TABLE rankings (
  id           INTEGER PRIMARY KEY,
  parent_id    INTEGER NOT NULL REFERENCES messages(id),
  annotator_id INTEGER NOT NULL REFERENCES accounts(id),
  verdict      TEXT NOT NULL CHECK (verdict IN ('ranked', 'all_flawed', 'cannot_rank')),
  reason       TEXT,
  created_at   TEXT NOT NULL
);
CREATE INDEX rankings_parent ON rankings(parent_id, annotator_id);

CREATE TABLE ranking_entries (
  ranking_id INTEGER NOT NULL REFERENCES rankings(id),
  message_id INTEGER NOT NULL REFERENCES messages(id),
  position   INTEGER NOT NULL,
  PRIMARY KEY (ranking_id, message_id)
) WITHOUT ROWID;

CREATE TABLE labels (
  message_id   INTEGER NOT NULL REFERENCES messages(id),
  annotator_id INTEGER NOT NULL REFERENCES accounts(id),
  name         TEXT NOT NULL,
  value        INTEGER NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (message_id, annotator_id, name)
) WITHOUT ROWID;

CREATE TABLE reviews (
  id          INTEGER PRIMARY KEY,
  message_id  INTEGER NOT NULL REFERENCES messages(id),
  revision    INTEGER NOT NULL,
  reviewer_id INTEGER NOT NULL REFERENCES accounts(id),
  verdict     TEXT NOT NULL CHECK (verdict IN ('approve', 'reject', 'needs_fix')),
  comment     TEXT,
  created_at  TEXT NOT NULL
);
CREATE INDEX reviews_message ON reviews(message_id, revision);

CREATE TABLE tags (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);

CREATE TABLE message_tags (
  message_id INTEGER NOT NULL REFERENCES messages(id),
  tag_id     INTEGER NOT NULL REFERENCES tags(id),
  PRIMARY KEY (message_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX message_tags_tag ON message_tags(tag_id, message_id);

CREATE TABLE audit_log (
  id              INTEGER PRIMARY KEY,
  account_id      INTEGER REFERENCES accounts(id),
  action          TEXT NOT NULL,
  target_kind     TEXT,
  target_id       INTEGER,
  before_revision INTEGER,
  after_revision  INTEGER,
  detail_json     TEXT,
  created_at      TEXT NOT NULL
);

CREATE TABLE task_leases (
  task_kind  TEXT NOT NULL,
  target_id  INTEGER NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (task_kind, target_id, account_id)
) WITHOUT ROWID;
CREATE INDEX task_leases_account ON task_leases(account_id);

CREATE TABLE skips (
  task_kind  TEXT NOT NULL,
  target_id  INTEGER NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  reason     TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (account_id, task_kind, target_id)
) WITHOUT ROWID;

-- Targets that may still need work, a superset kept by the write functions so that the
-- queue never scans the message table; the queue checks each candidate exactly.
CREATE TABLE open_tasks (
  task_kind  TEXT NOT NULL,
  target_id  INTEGER NOT NULL,
  PRIMARY KEY (task_kind, target_id)
) WITHOUT ROWID;

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value_json TEXT NOT NULL
);

CREATE TABLE snapshots (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  content_hash TEXT NOT NULL,
  filter_json  TEXT NOT NULL,
  split_json   TEXT NOT NULL,
  created_by   INTEGER REFERENCES accounts(id),
  created_at   TEXT NOT NULL
);

CREATE TABLE snapshot_items (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
  message_id  INTEGER NOT NULL REFERENCES messages(id),
  revision    INTEGER NOT NULL,
  text_hash   TEXT NOT NULL,
  split       TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, message_id)
) WITHOUT ROWID;

CREATE TABLE snapshot_rankings (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
  ranking_id  INTEGER NOT NULL REFERENCES rankings(id),
  PRIMARY KEY (snapshot_id, ranking_id)
) WITHOUT ROWID;

CREATE TABLE eval_runs (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  config_json TEXT NOT NULL DEFAULT '{}',
  snapshot_id INTEGER REFERENCES snapshots(id),
  created_at  TEXT NOT NULL
);

CREATE TABLE eval_scores (
  eval_run_id   INTEGER NOT NULL REFERENCES eval_runs(id),
  message_id    INTEGER NOT NULL REFERENCES messages(id),
  checkpoint_id INTEGER REFERENCES checkpoints(id),
  scorer        TEXT NOT NULL,
  score         REAL NOT NULL
);
CREATE INDEX eval_scores_run ON eval_scores(eval_run_id, message_id);

CREATE TABLE arena_verdicts (
  id           INTEGER PRIMARY KEY,
  prompt_id    INTEGER NOT NULL REFERENCES messages(id),
  a_message_id INTEGER NOT NULL REFERENCES messages(id),
  b_message_id INTEGER NOT NULL REFERENCES messages(id),
  account_id   INTEGER NOT NULL REFERENCES accounts(id),
  verdict      TEXT NOT NULL CHECK (verdict IN ('a', 'b', 'tie', 'both_bad')),
  created_at   TEXT NOT NULL
);
