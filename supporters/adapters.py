from allauth.account.adapter import DefaultAccountAdapter

from kaika.mail import send_email_on_commit


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Rendered here (it needs the request's language and site), sent by the task worker:
        # a slow mail server never holds a request at the 9:00 rush.
        message = self.render_mail(template_prefix, email, context)
        send_email_on_commit(message)
