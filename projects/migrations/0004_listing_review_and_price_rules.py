"""Listings go on sale only once the office approves them, at prices that follow the project's
rules. Listings on sale before this change stay on sale when their price follows the rules
(approved now); one that does not (a ¥1,234 listing that issued a 351円券) is sent back with
the reason, off sale until its operator fixes the price; an inactive listing is a draft."""

from django.db import migrations, models
from django.utils import timezone

SENT_BACK = (
    "1口の金額が事業のルール(1口の金額の倍数で、チケットがきりのよい額面に分けられる金額)に"
    "合わないため、販売を止めました。金額を見直して、もう一度申請してください。"
)


def follows_the_rules(listing, project) -> bool:
    # Project.validate_unit_price as of this migration (a migration keeps its own copy).
    price, unit = listing.unit_price, project.unit_price
    multiplier = 100 + project.premium_rate if listing.premium_applies else 100
    return (
        unit <= price <= project.max_per_application
        and price % unit == 0
        and price * multiplier % (100 * project.ticket_denomination) == 0
    )


def review_existing_listings(apps, schema_editor):
    Listing = apps.get_model("projects", "Listing")
    now = timezone.now()
    for listing in Listing.objects.select_related("shop__project").filter(is_active=True):
        if listing.is_standard or follows_the_rules(listing, listing.shop.project):
            listing.review_status, listing.review_comment = "approved", ""
        else:
            listing.review_status, listing.review_comment = "rejected", SENT_BACK
        listing.reviewed_at = now
        listing.save(update_fields=["review_status", "review_comment", "reviewed_at"])



class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0003_shop_withdrawn_by_staff'),
    ]

    operations = [
        migrations.AddField(
            model_name='listing',
            name='review_comment',
            field=models.TextField(blank=True, help_text='差し戻しの理由など。店舗に届きます', verbose_name='事務局からの連絡事項'),
        ),
        migrations.AddField(
            model_name='listing',
            name='review_status',
            field=models.CharField(choices=[('draft', '下書き'), ('pending', '審査待ち'), ('approved', '承認済み'), ('rejected', '差し戻し')], default='draft', editable=False, max_length=16, verbose_name='審査'),
        ),
        migrations.AddField(
            model_name='listing',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='審査日時'),
        ),
        migrations.AddField(
            model_name='listing',
            name='submitted_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='審査の申請日時'),
        ),
        migrations.RunPython(review_existing_listings, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='listing',
            constraint=models.CheckConstraint(condition=models.Q(('unit_price__gte', 1)), name='listing_unit_price_positive'),
        ),
        migrations.AddConstraint(
            model_name='listing',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('review_status', 'rejected'), _negated=True), models.Q(('review_comment', ''), _negated=True), _connector='OR'), name='listing_rejection_has_a_reason'),
        ),
        migrations.AddConstraint(
            model_name='project',
            constraint=models.CheckConstraint(condition=models.Q(('ticket_denomination__gte', 1), ('unit_price__gte', 1)), name='project_unit_and_denomination_positive'),
        ),
    ]
