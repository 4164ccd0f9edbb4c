from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0011_urgency_one_scale'),
    ]

    operations = [
        migrations.AddField(
            model_name='draft',
            name='closed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
