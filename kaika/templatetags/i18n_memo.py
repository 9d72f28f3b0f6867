"""Django's `i18n` tag library, with `{% translate "constant" %}` answered once per language.

The project's templates `{% load i18n_memo %}` instead of `i18n`: every tag and filter is
Django's own, but the translate tag. makemessages finds the strings as before (it reads the
tags, whatever library they come from); a template that loads Django's `i18n` still works, only
without what this keeps. (Registering this module under the name `i18n` itself would also reach
admin's and allauth's templates, but Django's checks warn against two libraries of one name.)

Why: a translate tag with a literal gives the same text every time for a language, yet Django
works it out again on each render (a lazy string, gettext several times over, escaping): about
a third of rendering My page (docs/benchmarks.md). Here each such node keeps its output per
(language, autoescape) the first time it renders. Tags with a variable, a filter, `as` or a
non-literal context go through Django's own render, untouched. Nothing is kept with DEBUG on,
where a recompiled catalogue must show at once. tests/kaika/test_i18n_memo.py compares the
output with Django's for every translate tag in the project's templates, in both languages.
"""

from django.conf import settings
from django.template import Library
from django.templatetags import i18n as django_i18n
from django.utils import translation

register = Library()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)


class TranslateNode(django_i18n.TranslateNode):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        var = self.filter_expression.var
        context = self.message_context
        self.constant = (
            getattr(var, "literal", None) is not None
            and getattr(var, "lookups", None) is None
            and not self.filter_expression.filters
            and self.asvar is None
            and (context is None or (isinstance(context.var, str) and not context.filters))
        )
        self.rendered = {}

    def render(self, context):
        if not self.constant or settings.DEBUG:
            return super().render(context)
        key = (translation.get_language(), context.autoescape)
        try:
            return self.rendered[key]
        except KeyError:
            value = self.rendered[key] = super().render(context)
            return value


@register.tag("translate")
@register.tag("trans")
def do_translate(parser, token):
    node = django_i18n.do_translate(parser, token)
    return TranslateNode(node.filter_expression, node.noop, node.asvar, node.message_context)
