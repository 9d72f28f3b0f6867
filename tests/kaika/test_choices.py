import pytest
from django.db.models import Model
from django.utils import translation

from projects.models import Shop
from supporters.models import User

FAST = [(User, "gender"), (User, "occupation"), (User, "prefecture")]
FAST += [(Shop, "category"), (Shop, "municipality")]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize(("model", "name"), FAST, ids=[f"{m.__name__}.{n}" for m, n in FAST])
def test_the_fast_labels_are_django_s_own_for_every_value(model, name, language):
    field = model._meta.get_field(name)
    values = [value for value, _ in field.flatchoices] + ["", "not-a-choice"]
    with translation.override(language):
        for value in values:
            instance = model(**{name: value})
            ours = getattr(instance, f"get_{name}_display")()
            assert ours == Model._get_FIELD_display(instance, field), (name, value)
            assert isinstance(ours, str)


def test_the_labels_follow_the_language_of_the_moment():
    user = User(gender="female", prefecture="13")
    with translation.override("ja"):
        assert (user.get_gender_display(), user.get_prefecture_display()) == ("女性", "東京都")
    with translation.override("en"):
        assert user.get_gender_display() == "Female"
