import pytest
from django.db.models import Model
from django.utils import translation

from supporters.models import User

CHOICE_FIELDS = ("gender", "occupation", "prefecture")


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("name", CHOICE_FIELDS)
def test_choice_labels_are_django_s_own_for_every_value(name, language):
    """supporters.models writes get_FOO_display out for speed: the same text as Django's."""
    field = User._meta.get_field(name)
    values = [value for value, _ in field.flatchoices] + ["", "not-a-choice"]
    with translation.override(language):
        for value in values:
            user = User(**{name: value})
            ours = getattr(user, f"get_{name}_display")()
            assert ours == Model._get_FIELD_display(user, field), (name, value)
            assert isinstance(ours, str)


def test_the_labels_follow_the_language():
    user = User(gender="female", prefecture="13")
    with translation.override("ja"):
        assert (user.get_gender_display(), user.get_prefecture_display()) == ("女性", "東京都")
    with translation.override("en"):
        assert user.get_gender_display() == "Female"
