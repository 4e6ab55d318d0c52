-- Bills this counter has taken, by bill number. The same bill sent again (a double press, the
-- billing software retrying after a lost answer) returns the first result instead of a second
-- sale, and a different sale under a taken number is refused before it reaches central.
CREATE TABLE bills (
  bill_number TEXT    NOT NULL PRIMARY KEY,
  key         TEXT    NOT NULL UNIQUE,
  mobile      TEXT    NOT NULL,
  lines       TEXT    NOT NULL,             -- the sale's lines (JSON), to tell a retry from another sale
  points      INTEGER NOT NULL,
  taken_at    TEXT    NOT NULL
) STRICT;
