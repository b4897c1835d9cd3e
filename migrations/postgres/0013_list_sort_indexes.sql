-- List pages read their rows straight from an index in their sort order
-- (issue 16): each sort of the claims list, and the customers and policies
-- lists, has an index on its whole sort key (ending with the id that breaks
-- ties), so a page costs the rows it shows, not a sort of every match. The
-- priority sort's index is on the same expression the query orders by.
-- The single-column created_at indexes they replace are dropped.
CREATE INDEX claims_created_id_idx ON claims (created_at, id);
CREATE INDEX claims_amount_id_idx ON claims (total_claimed DESC, id);
CREATE INDEX claims_priority_rank_idx ON claims (
    (CASE priority WHEN 'urgent' THEN 0 WHEN 'standard' THEN 1 WHEN 'low' THEN 2 ELSE 3 END),
    created_at,
    id
);
CREATE INDEX customers_created_id_idx ON customers (created_at, id);
CREATE INDEX policies_created_id_idx ON policies (created_at, id);
DROP INDEX claims_created_idx;
DROP INDEX customers_created_idx;
DROP INDEX policies_created_idx;
