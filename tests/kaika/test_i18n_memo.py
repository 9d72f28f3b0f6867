"""kaika.templatetags.i18n_memo, which the project's templates load instead of `i18n`: every
translate tag of the project's templates must render exactly as Django's own tag does, in
both languages, from the first render and from what it kept; tags that are not constant must
not be kept at all."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Engine, engines
from django.utils import translation

from kaika.templatetags.i18n_memo import TranslateNode

TAG = re.compile(r"{%\s*(?:translate|trans)\s.*?%}", re.S)


def project_translate_tags() -> list[str]:
    tags = set()
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        tags.update(TAG.findall(path.read_text()))
    return sorted(tags)


def test_the_projects_templates_load_this_library_not_djangos():
    loads = re.compile(r"{%\s*load\s([^%]*)%}")
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for libraries in loads.findall(path.read_text()):
            assert "i18n" not in libraries.split(), path
    template = engines["django"].from_string("{% load i18n_memo %}{% translate 'お名前' %}")
    assert isinstance(template.template.nodelist[-1], TranslateNode)


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_every_translate_tag_renders_as_djangos(language, autoescape):
    ours = engines["django"].engine
    djangos = Engine(libraries={"i18n": "django.templatetags.i18n"})
    tags = project_translate_tags()
    assert len(tags) > 100, "the templates' translate tags were not found"
    tags = "\n".join(tags) + "{% translate 'x' as name %}[{{ name }}]"
    context = {"name": "<b>", "autoescape": autoescape}
    with translation.override(language):
        expected = djangos.from_string("{% load i18n %}" + tags).render(
            Context(context, autoescape=autoescape)
        )
        template = ours.from_string("{% load i18n_memo %}" + tags)
        first = template.render(Context(context, autoescape=autoescape))
        kept = template.render(Context(context, autoescape=autoescape))
    assert first == expected and kept == expected
    if language == "en":
        assert "Member details" in expected or "Email" in expected  # English really rendered


def test_each_language_has_its_own_text_from_the_same_node():
    template = engines["django"].from_string("{% load i18n_memo %}{% translate 'よくある質問' %}")
    with translation.override("ja"):
        japanese = template.render({})
    with translation.override("en"):
        english = template.render({})
    with translation.override("ja"):
        again = template.render({})
    assert japanese == again == "よくある質問" and english not in ("", japanese)


def test_tags_that_are_not_constant_are_never_kept():
    template = engines["django"].from_string(
        "{% load i18n_memo %}{% translate word %}|{% translate word|upper %}|"
        "{% translate 'x' as kept %}{{ kept }}|{% translate '日' context part %}"
    )
    nodes = [n for n in template.template.nodelist if isinstance(n, TranslateNode)]
    assert [n.constant for n in nodes] == [False, False, False, False]
    with translation.override("ja"):
        assert template.render({"word": "a", "part": "countdown unit"}).startswith("a|A|x|")
        assert template.render({"word": "b", "part": "countdown unit"}).startswith("b|B|x|")
    assert all(not n.rendered for n in nodes)
