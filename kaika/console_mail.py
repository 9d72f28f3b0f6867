from django.core.mail.backends.console import EmailBackend


class ReadableConsoleBackend(EmailBackend):
    """The embedded default's mail: printed as readable text (Japanese bodies would otherwise
    appear base64-encoded), so that a developer can follow the verification link."""

    def write_message(self, message):
        self.stream.write(
            f"From: {message.from_email}\nTo: {', '.join(message.to)}\n"
            f"Subject: {message.subject}\n\n{message.body}\n"
        )
        self.stream.write("-" * 79 + "\n")
