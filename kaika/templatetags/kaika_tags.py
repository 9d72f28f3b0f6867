from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.urls import reverse, translate_url
from django.utils.translation import gettext, ngettext

from kaika.downloads import NONCE_PLACEHOLDER

register = template.Library()


@register.simple_tag(takes_context=True)
def url_in_language(context, language_code: str) -> str:
    """The current page in another language, from its URL alone (no cookie, no session):
    the query string is kept, so a search, a list's page or an order being confirmed stays
    what it was (a public page's copy is kept per URL, query string included)."""
    request = context["request"]
    url = translate_url(request.path, language_code)
    return f"{url}?{request.GET.urlencode()}" if request.GET else url


# Amounts and counts carry their unit in one translatable string, so each language can put it
# where it belongs (1,000円 / ¥1,000) instead of gluing a translated "円" after a number.
@register.filter
def yen(value) -> str:
    """An amount of money: 1,000円 in Japanese, ¥1,000 in English."""
    if value is None or value == "":
        return ""
    return gettext("%(amount)s円") % {"amount": intcomma(value)}


@register.filter
def people(value) -> str:
    """A number of people: 12人 in Japanese, 12 in English (the label says who)."""
    if value is None or value == "":
        return ""
    return gettext("%(n)s人") % {"n": intcomma(value)}


@register.filter
def units(value) -> str:
    """A number of units (口): 3口 in Japanese, 3 units in English."""
    if value is None or value == "":
        return ""
    count = int(value)
    return ngettext("%(n)s口", "%(n)s口", count) % {"n": intcomma(count)}


@register.inclusion_tag("download_form.html", takes_context=True)
def private_download_form(context, url_name: str, label: str, fields=None, **url_kwargs):
    """The button of a personal download (kaika/downloads.py): a POST form whose action the
    script completes with a nonce of its own; `fields` go along as hidden inputs."""
    url = reverse(url_name, kwargs={**url_kwargs, "nonce": NONCE_PLACEHOLDER})
    return {
        "url": url,
        "label": label,
        "fields": fields or {},
        "csrf_token": context.get("csrf_token"),
    }
