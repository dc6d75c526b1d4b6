-- Merging duplicate members 合并重复会员. The duplicate stays (its member number, its
-- history and the receipts issued to it are real), marked 'left' with `merged_into`
-- pointing at the record that carries on. Chains are flattened by the merge itself, so
-- one hop always reaches the surviving record.
--
-- The payments ledger is NOT re-pointed: payments are append-only and a receipt was
-- issued to the record it names. A merged member's payments are read as the
-- survivor's through `merged_into` (see payments::payments_of_member); their contracts
-- move, so every balance (by contract) is unchanged.
ALTER TABLE members ADD COLUMN merged_into TEXT REFERENCES members(id);
CREATE INDEX members_merged_into ON members(merged_into) WHERE merged_into IS NOT NULL;
-- Duplicate detection pairs members by name.
CREATE INDEX members_name ON members(name);
