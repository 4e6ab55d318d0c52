-- The terminal's cache of central's replicated state, and its outbox.
-- Applied in file-name order; PRAGMA user_version holds the number of the last file applied.

-- Key/value facts about this cache: epoch, cursor, rules, last sync, clock offset.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- Every member's replicated state, as central last stamped it (seq = central's change number).
-- STRICT typing refuses a malformed row from the network instead of storing it.
CREATE TABLE members (
  id          INTEGER PRIMARY KEY CHECK (id > 0),
  mobile      TEXT    NOT NULL UNIQUE CHECK (mobile GLOB '+[1-9]*'),  -- E.164, e.g. +919876543210
  name        TEXT    NOT NULL,
  balance     INTEGER NOT NULL,
  tier        TEXT    NOT NULL,
  sms_consent INTEGER NOT NULL CHECK (sms_consent IN (0, 1)),
  seq         INTEGER NOT NULL CHECK (seq > 0)
) STRICT;
-- Type-ahead: the last four digits of the mobile, and the name folded (ASCII lower case;
-- names arrive in NFC from central, and Indian scripts have no case).
CREATE INDEX members_last4 ON members (substr(mobile, -4));
CREATE INDEX members_name_key ON members (lower(name));

-- Writes taken at this counter, in the order the cashier made them. A row is committed before
-- the cashier is told the sale or enrolment is done; it leaves only when central has applied it.
-- state: 'queued' (to send), 'refused' (central said no; kept for a manager), 'discarded'
-- (a manager set it aside, with a reason; kept for the record).
CREATE TABLE outbox (
  n              INTEGER PRIMARY KEY AUTOINCREMENT,
  key            TEXT    NOT NULL UNIQUE,
  kind           TEXT    NOT NULL CHECK (kind IN ('sale', 'enrol')),
  body           TEXT    NOT NULL,              -- the request as central will receive it (JSON)
  mobile         TEXT    NOT NULL,
  pending_points INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT    NOT NULL,
  state          TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'refused', 'discarded')),
  attempts       INTEGER NOT NULL DEFAULT 0,
  last_error     TEXT,                          -- RFC 9457 problem (JSON) from central, or a transport error
  resolved_note  TEXT
) STRICT;
CREATE INDEX outbox_state ON outbox (state, n);
CREATE INDEX outbox_mobile ON outbox (mobile) WHERE state = 'queued';
