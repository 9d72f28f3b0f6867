"""Staff may give back what a waiting crowd was told is gone (a listing's stock, a project's
budget, a round's closing time) in the projects app, which must not import this one: a saved
listing, project or round takes the notices down (gone_forget, after commit)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from projects.models import Listing, Project, Round
from waitingroom.services import gone_forget


@receiver(post_save, sender=Listing)
def listing_saved(sender, instance: Listing, created: bool, raw: bool, **kwargs) -> None:
    if not created and not raw:
        gone_forget(listing_id=instance.pk)


@receiver(post_save, sender=Project)
def project_saved(sender, instance: Project, created: bool, raw: bool, **kwargs) -> None:
    if not created and not raw:
        gone_forget(ended=True, project_id=instance.pk)


@receiver(post_save, sender=Round)
def round_saved(sender, instance: Round, created: bool, raw: bool, **kwargs) -> None:
    if not created and not raw:
        gone_forget(ended=True, round_id=instance.pk)
