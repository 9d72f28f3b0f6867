-- kaika_order_reserve(): order_create on PostgreSQL, the 9:00 path, in one statement.
--
-- The same rules, in the same order, as purchases/services.py (order_check and _reserve), which
-- SQLite runs; tests/purchases/test_limits.py runs every rule on both. One statement because
-- the round's and the project's rows, which every order updates, are then locked and released
-- inside PostgreSQL, never held while a Python thread waits for its turn to send the next
-- statement: at 9:00 that wait, paid by every order queued behind, cut orders per second by
-- two thirds.
--
-- Names in braces are filled from the model enums by purchases/reserve.py, which installs
-- this file (migrations) and checks that the deployed function is this file (a database check).
-- A refusal is RAISE EXCEPTION 'kaika:<code>' with the sentence's numbers as JSON in DETAIL;
-- the statement is then rolled back whole. Lock order: supporter, listing, shop round, round,
-- project.
-- Dropped first: CREATE OR REPLACE cannot change what a function returns.
DROP FUNCTION IF EXISTS kaika_order_reserve(
    bigint, bigint, bigint, integer, text, text, timestamptz, timestamptz, text);
CREATE FUNCTION kaika_order_reserve(
    p_supporter bigint,
    p_listing bigint,
    p_round bigint,
    p_units integer,
    p_key text,
    p_code text,
    p_now timestamptz,
    p_expires timestamptz,
    synchronous_commit text DEFAULT NULL
) RETURNS SETOF purchases_order LANGUAGE plpgsql AS $fn$
DECLARE
    l projects_listing%ROWTYPE;
    s projects_shop%ROWTYPE;
    p projects_project%ROWTYPE;
    r projects_round%ROWTYPE;
    v_amount bigint;
    v_tickets bigint;
    held_units bigint;
    held_amount bigint;
    v_order purchases_order%ROWTYPE;
BEGIN
    IF synchronous_commit IS NOT NULL THEN
        -- For this transaction only: the hot rows' locks go without waiting for the disk.
        PERFORM set_config('synchronous_commit', synchronous_commit, true);
    END IF;
    -- The supporter's row serialises their own tabs: the per-person sums below are read
    -- after this lock, so two tabs cannot both fit under a cap.
    PERFORM 1 FROM supporters_user u WHERE u.id = p_supporter FOR UPDATE;

    SELECT * INTO l FROM projects_listing x WHERE x.id = p_listing;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kaika:invalid_request';
    END IF;
    SELECT * INTO r FROM projects_round x WHERE x.id = p_round;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kaika:invalid_request';
    END IF;
    SELECT * INTO s FROM projects_shop x WHERE x.id = l.shop_id;
    SELECT * INTO p FROM projects_project x WHERE x.id = s.project_id;

    -- services.order_check, in the same order (the same sentence for the same case).
    IF r.project_id <> s.project_id THEN
        RAISE EXCEPTION 'kaika:round_mismatch';
    END IF;
    -- A lottery round's supply goes by the draw (the lottery app), never first come.
    IF r.allocation_mode = {round_lottery} THEN
        RAISE EXCEPTION 'kaika:round_is_lottery';
    END IF;
    IF r.suspended THEN
        RAISE EXCEPTION 'kaika:round_suspended';
    ELSIF p_now < r.opens_at THEN
        RAISE EXCEPTION 'kaika:round_not_open_yet';
    ELSIF p_now >= r.closes_at THEN
        RAISE EXCEPTION 'kaika:round_closed';
    END IF;
    IF s.status <> {shop_approved} OR NOT p.is_published THEN
        RAISE EXCEPTION 'kaika:shop_not_available';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM projects_shopround sr
                   WHERE sr.shop_id = s.id AND sr.round_id = r.id) THEN
        RAISE EXCEPTION 'kaika:shop_not_in_round';
    END IF;
    -- Listing.objects.offered_in: approved, active, and tied to this round or to no round.
    IF NOT l.is_active OR l.review_status <> {listing_approved} OR NOT (
        EXISTS (SELECT 1 FROM projects_listing_rounds lr
                WHERE lr.listing_id = l.id AND lr.round_id = r.id)
        OR NOT EXISTS (SELECT 1 FROM projects_listing_rounds lr WHERE lr.listing_id = l.id)
    ) THEN
        RAISE EXCEPTION 'kaika:listing_not_available';
    END IF;

    v_amount := p_units::bigint * l.unit_price;
    IF v_amount > p.max_per_application THEN
        RAISE EXCEPTION 'kaika:over_application_max'
            USING DETAIL = json_build_object('max', p.max_per_application)::text;
    END IF;
    -- Order.objects.live_at(now): paid, or pending and not yet expired.
    SELECT COALESCE(SUM(CASE WHEN o.listing_id = l.id THEN o.units ELSE 0 END), 0),
           COALESCE(SUM(CASE WHEN o.round_id = r.id THEN o.amount ELSE 0 END), 0)
      INTO held_units, held_amount
      FROM purchases_order o
     WHERE o.supporter_id = p_supporter
       AND (o.status = {order_paid} OR (o.status = {order_pending} AND o.expires_at > p_now));
    IF l.per_person_limit IS NOT NULL AND held_units + p_units > l.per_person_limit THEN
        RAISE EXCEPTION 'kaika:over_listing_person_limit'
            USING DETAIL = json_build_object('limit', l.per_person_limit, 'held', held_units)::text;
    END IF;
    IF held_amount + v_amount > p.max_per_person_per_round THEN
        RAISE EXCEPTION 'kaika:over_person_round_max'
            USING DETAIL = json_build_object('max', p.max_per_person_per_round,
                                             'held', held_amount)::text;
    END IF;
    -- Early answers on the figures just read; the conditional UPDATEs have the last word.
    IF v_amount > GREATEST(p.total_budget - p.amount_raised, 0) THEN
        RAISE EXCEPTION 'kaika:budget_exhausted';
    END IF;
    IF l.stock_limit IS NOT NULL AND p_units > GREATEST(l.stock_limit - l.units_sold, 0) THEN
        RAISE EXCEPTION 'kaika:sold_out';
    END IF;

    -- Project.tickets_value (amounts are positive: integer division is Python's //).
    v_tickets := CASE WHEN l.premium_applies THEN v_amount * (100 + p.premium_rate) / 100
                      ELSE v_amount END;
    -- The order first, the counters after: the INSERT takes no lock anyone else waits for,
    -- so the hot rows (round, project) stay locked only from their UPDATE to the commit.
    -- A cap refused below, or a replay caught by the unique (supporter, idempotency_key)
    -- constraint here, rolls the whole statement back, this row with it.
    INSERT INTO purchases_order (
        code, supporter_id, project_id, round_id, shop_id, listing_id, units, unit_price,
        amount, tickets_value, status, idempotency_key, created_at, expires_at,
        payment_reference, payment_provider, staff_note
    ) VALUES (
        p_code, p_supporter, p.id, r.id, s.id, l.id, p_units, l.unit_price,
        v_amount, v_tickets, {order_pending}, p_key, p_now, p_expires, '', '', ''
    ) RETURNING * INTO v_order;
    -- services._reserve's UPDATEs: each locks its row and re-checks its cap on the current
    -- value (PostgreSQL re-evaluates the WHERE clause on the row it waited for).
    UPDATE projects_listing x SET units_sold = x.units_sold + p_units
     WHERE x.id = l.id AND x.is_active AND x.review_status = {listing_approved}
       AND (x.stock_limit IS NULL OR x.stock_limit >= x.units_sold + p_units);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kaika:sold_out';
    END IF;
    UPDATE projects_shopround x
       SET units_sold = x.units_sold + p_units, amount_raised = x.amount_raised + v_amount
     WHERE x.shop_id = s.id AND x.round_id = r.id
       AND EXISTS (SELECT 1 FROM projects_shop y WHERE y.id = s.id AND y.status = {shop_approved});
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kaika:shop_not_in_round';
    END IF;
    -- A staff suspension or the closing second may have come since the check above.
    UPDATE projects_round x SET amount_raised = x.amount_raised + v_amount
     WHERE x.id = r.id AND x.opens_at <= p_now AND x.closes_at > p_now AND NOT x.suspended;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kaika:round_closed';
    END IF;
    -- The hottest row at 9:00: last, so its lock is held for the shortest time.
    UPDATE projects_project x SET amount_raised = x.amount_raised + v_amount
     WHERE x.id = p.id AND x.amount_raised + v_amount <= x.total_budget;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kaika:budget_exhausted';
    END IF;

    RETURN NEXT v_order;
END
$fn$;

