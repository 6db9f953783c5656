"""Resource servers (token audiences); clients' audiences, exchange targets, lifetimes and
assertion keys; the audience and scope a session was granted."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_opaque_refresh_one_current_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='ResourceServer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('identifier', models.CharField(help_text='A URI or a name; tokens carry it as `aud`.', max_length=255, unique=True)),
                ('scopes', models.JSONField(blank=True, default=list, help_text='The scopes it defines.')),
                ('access_token_lifetime', models.PositiveIntegerField(blank=True, help_text="Seconds; empty: Warden's default lifetime.", null=True)),
                ('claims', models.JSONField(blank=True, default=list, help_text='Extra claims its tokens carry: userId, role.')),
                ('algorithm', models.CharField(blank=True, choices=[('RS256', 'Rs256'), ('ES256', 'Es256')], help_text="Empty: the key ring's current algorithm.", max_length=8)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['identifier'],
            },
        ),
        migrations.AddField(
            model_name='authsession',
            name='audience',
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name='authsession',
            name='scope',
            field=models.CharField(blank=True, max_length=1024),
        ),
        migrations.AddField(
            model_name='serviceclient',
            name='access_token_lifetime',
            field=models.PositiveIntegerField(blank=True, help_text="Seconds; empty: the audience's or Warden's default.", null=True),
        ),
        migrations.AddField(
            model_name='serviceclient',
            name='allowed_audiences',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='serviceclient',
            name='exchange_audiences',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='serviceclient',
            name='jwks_url',
            field=models.URLField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='serviceclient',
            name='public_key_pem',
            field=models.TextField(blank=True),
        ),
    ]
