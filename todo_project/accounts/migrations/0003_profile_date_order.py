"""Profile.date_order: how a numeric date like 1/2 is read.

Existing profiles get DMY, the day-first reading quick add used before the
preference existed (so nobody's 1/2 changes meaning); new ones default to MDY.
The column carries a database default too, so pods of the previous release
(which do not know the field) can still create profiles during a rolling
upgrade (expand-only, docs/operations.md).
"""

from django.db import migrations, models

CHOICES = [("MDY", "month/day/year"), ("DMY", "day/month/year"), ("YMD", "year/month/day")]


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_email_verification_and_token_families"),
    ]

    operations = [
        migrations.AddField(
            model_name="profile",
            name="date_order",
            field=models.CharField(choices=CHOICES, default="DMY", max_length=3),
        ),
        migrations.AlterField(
            model_name="profile",
            name="date_order",
            field=models.CharField(choices=CHOICES, db_default="MDY", default="MDY", max_length=3),
        ),
    ]
