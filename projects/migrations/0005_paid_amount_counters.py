"""Paid support, apart from the cap counters: what the public pages show (purchases 0012 fills
it from the orders paid so far)."""


from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('projects', '0004_listing_review_and_price_rules'),
    ]

    operations = [
        migrations.AddField(
            model_name='project',
            name='amount_paid',
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name='お支払い済みの支援額(円)'),
        ),
        migrations.AddField(
            model_name='round',
            name='amount_paid',
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name='お支払い済みの支援額(円)'),
        ),
        migrations.AddField(
            model_name='shopround',
            name='amount_paid',
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name='お支払い済みの支援額(円)'),
        ),
        migrations.AlterField(
            model_name='project',
            name='amount_raised',
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name='支援総額(お支払い待ちを含む・円)'),
        ),
        migrations.AlterField(
            model_name='round',
            name='amount_raised',
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name='支援総額(お支払い待ちを含む・円)'),
        ),
    ]
