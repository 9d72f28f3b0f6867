import pytest


@pytest.mark.django_db
def test_english_lives_under_en_and_japanese_at_the_root(client):
    assert "地域のお店を" in client.get("/").content.decode()
    english = client.get("/en/").content.decode()
    assert "Support local shops" in english and 'lang="en"' in english
