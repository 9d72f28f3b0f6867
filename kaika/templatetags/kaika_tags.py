from django import template
from django.urls import translate_url

register = template.Library()


@register.simple_tag(takes_context=True)
def url_in_language(context, language_code: str) -> str:
    """The current page in another language, from the path alone (no cookie, no session)."""
    request = context["request"]
    return translate_url(request.path, language_code)
