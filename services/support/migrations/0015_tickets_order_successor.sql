-- support: one new ticket per order and predecessor. CreateTicket opens a ticket about a
-- buyer's order only when the order has none (follow_up_of '') or its latest ticket is CLOSED
-- (follow_up_of = that ticket), so these three columns never repeat: a second, concurrent
-- opening of the same order fails on this key, and its transaction runs again and joins the
-- ticket that won (README "Merge rule"). It replaces tickets_by_order, whose gap lock
-- served the same end but made concurrent openings of neighbouring orders deadlock; its
-- (buyer_id, order_id) prefix serves the same lookup.
ALTER TABLE tickets
  ADD UNIQUE KEY IF NOT EXISTS tickets_order_successor (buyer_id, order_id, follow_up_of),
  DROP KEY IF EXISTS tickets_by_order;
