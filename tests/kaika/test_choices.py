from django.utils import translation

from supporters.models import User


def test_the_labels_follow_the_language_of_the_moment():
    user = User(gender="female", prefecture="13")
    with translation.override("ja"):
        assert (user.get_gender_display(), user.get_prefecture_display()) == ("女性", "東京都")
    with translation.override("en"):
        assert user.get_gender_display() == "Female"
