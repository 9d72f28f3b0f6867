class PostalCodeConverter:
    """Exactly seven digits: anything else is a 404 before any lookup."""

    regex = r"[0-9]{7}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
