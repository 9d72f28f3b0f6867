"""The draw as a pure function: the order follows the seed, the allocation the budget and
stock, partial allotments as docs/operations.md says."""

from lottery import draw


def test_the_draw_order_depends_on_the_seed_and_is_repeatable():
    ids = [f"{i:016x}" for i in range(200)]
    first = draw.draw_order("seed-a", ids)
    assert first == draw.draw_order("seed-a", list(reversed(ids)))
    assert first != draw.draw_order("seed-b", ids)
    assert sorted(first) == sorted(ids)


def test_allocation_respects_stock_and_budget_and_gives_partial_allotments():
    wishes = {f"id{i}": {1: 3, 2: 1} for i in range(10)}
    result = draw.allocate(
        seed="s", wishes=wishes, prices={1: 1000, 2: 5000}, stock={1: 7, 2: None}, budget=20_000
    )
    order = draw.draw_order("s", wishes)
    # 8,000 yen each for the first two; the third gets the last unit of listing 1 (partial)
    # and none of listing 2 (3,000 yen left is less than its price); nobody else gets anything.
    assert result == {order[0]: {1: 3, 2: 1}, order[1]: {1: 3, 2: 1}, order[2]: {1: 1}}


def test_allocation_serves_applicants_in_the_draw_order():
    wishes = {f"id{i}": {1: 1} for i in range(50)}
    result = draw.allocate(seed="x", wishes=wishes, prices={1: 1000}, stock={1: 5}, budget=10**9)
    assert list(result) == draw.draw_order("x", wishes)[:5]


def test_the_seed_hash_is_sha256_hex():
    assert draw.seed_hash("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
