-- Schema 2: substring search for Japanese. An external-content FTS5 index over
-- messages.text with Tsumugi's own tokenizer (`tsumugi_ngram`: every character and every
-- pair of adjacent characters, ASCII folded), so 1- and 2-character queries work, which the
-- built-in trigram tokenizer cannot do. detail=none keeps it small: the search narrows with
-- the index and confirms each hit with instr(), so results equal a brute-force scan.
-- The index is kept in sync by the datastore's own write functions, not by triggers, because
-- the tokenizer exists only on connections opened by Tsumugi.
CREATE VIRTUAL TABLE messages_fts USING fts5(
  text, content='messages', content_rowid='id', tokenize='tsumugi_ngram', detail=none
);
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
