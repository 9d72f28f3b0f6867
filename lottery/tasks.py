"""The emails of a draw pass, sent by the task worker: one job per pass (see services)."""

from django.conf import settings
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from kaika.tasks import send_email
from lottery.models import Allotment, Application, DrawPass


@task()
def pass_notify(*, pass_id: int) -> None:
    draw_pass = DrawPass.objects.select_related("lottery__round__project").get(pk=pass_id)
    lottery = draw_pass.lottery
    won: dict[int, list[Allotment]] = {}
    for allotment in Allotment.objects.filter(draw_pass=draw_pass).select_related(
        "order", "listing__shop"
    ):
        won.setdefault(allotment.application_id, []).append(allotment)
    applications = Application.objects.filter(lottery=lottery).select_related("supporter")
    if draw_pass.is_redraw:
        # A re-draw tells its new winners; the others heard after the first pass.
        applications = applications.filter(pk__in=won)
    for application in applications.iterator(chunk_size=2000):
        _send(draw_pass, application, won.get(application.pk, []))


def _send(draw_pass: DrawPass, application: Application, allotments: list[Allotment]) -> None:
    if not application.supporter.email:
        return
    site = settings.KAIKA_SITE_URL
    with translation.override("ja"):
        context = {
            "draw_pass": draw_pass,
            "round": draw_pass.lottery.round,
            "application": application,
            "allotments": [
                {
                    "allotment": a,
                    "order_url": site
                    + reverse("purchases:order_detail", kwargs={"order_code": a.order.code}),
                }
                for a in allotments
            ],
            "mypage_url": site + reverse("lottery:my_applications"),
        }
        subject = render_to_string("lottery/email/result_subject.txt", context).strip()
        body = render_to_string("lottery/email/result_body.txt", context)
    # One queued email each, as everywhere else: a failed send is retried alone.
    send_email.enqueue(subject=subject, body=body, to=[application.supporter.email])
