-- What the counter's screens need besides members and rules (sync protocol 2).

-- A member's latest sale anywhere (ISO-8601, UTC, as central sends it); NULL before the first.
-- Cached rows start NULL; central restamped every member who had bought when it gained the
-- column, so the first pull after the upgrade fills it in.
ALTER TABLE members ADD COLUMN last_visit TEXT
  CHECK (last_visit IS NULL OR last_visit GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z');

-- The chain's catalogue, by SKU: a scanned barcode becomes a bill line. It is the last complete
-- catalogue fetched (meta.catalogueVersion), so scanning works offline whatever happens to a
-- fetch under way.
CREATE TABLE products (
  sku           TEXT NOT NULL PRIMARY KEY,
  name          TEXT NOT NULL,
  category_code TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- A newer catalogue while it arrives page by page (catalogue:pull); meta.catalogueStaging says
-- which version and where the next page starts. The last page swaps it into products in one
-- transaction.
CREATE TABLE products_staging (
  sku           TEXT NOT NULL PRIMARY KEY,
  name          TEXT NOT NULL,
  category_code TEXT NOT NULL
) STRICT, WITHOUT ROWID;
