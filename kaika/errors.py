class DomainError(Exception):
    """One domain error per app (CatalogError, PurchaseError, InquiryError): `code` picks a
    sentence from the subclass's MESSAGES table that the person can act on; `params` fill it."""

    MESSAGES: dict = {}

    def __init__(self, code: str, **params):
        if code not in self.MESSAGES:
            raise KeyError(f"{type(self).__name__} has no message for {code!r}")
        self.code = code
        self.params = params
        super().__init__(code)

    @property
    def message(self) -> str:
        text = str(self.MESSAGES[self.code])
        return text % self.params if self.params else text

    @classmethod
    def relay(cls, error: "DomainError") -> "DomainError":
        """An app below's refusal as this app's error, for callers that catch this app's: the
        sentence stays the lower app's, whose table this one includes (`**Lower.MESSAGES`)."""
        return cls(error.code, **error.params)
