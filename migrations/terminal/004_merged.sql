-- Records merged into another member at central (sync protocol 3). A merged record stays in the
-- cache (central keeps sending its state) but the counter shows the member it was merged into
-- for its mobile, and never lists it on its own. Cached rows start NULL: no merge existed before.
ALTER TABLE members ADD COLUMN merged_into INTEGER CHECK (merged_into IS NULL OR merged_into > 0);
