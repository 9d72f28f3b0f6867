"""get_FOO_display from labels looked up once, for the choice fields shown on hot pages.

Django's own get_FOO_display builds a dict of the field's choices on every call, and on the
way hashes, and so translates, every label: all 47 prefectures to show one address, all the
categories and municipalities to show one shop. That was about a tenth of My page's CPU
(docs/benchmarks.md). The labels stay lazy here, so each call still answers in the language
of the moment; tests/kaika/test_choices.py checks the answers against Django's own.
"""


def fast_choice_display(*names: str):
    """Class decorator: replace get_<name>_display for each named choice field."""

    def decorate(model):
        for name in names:
            field = model._meta.get_field(name)
            setattr(model, f"get_{name}_display", _display(field.attname, dict(field.flatchoices)))
        return model

    return decorate


def _display(attname: str, labels: dict):
    def get_display(self):
        value = getattr(self, attname)
        label = labels.get(value)
        # As Django's: an unknown value is shown as it is, a label always as a str.
        return value if label is None else str(label)

    get_display.__name__ = f"get_{attname}_display"
    return get_display
