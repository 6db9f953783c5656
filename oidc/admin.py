"""Admin for OpenID apps: register one (its secret shown once), edit its redirect URIs,
scopes, grants, consent and PAR rules; users' remembered consents."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from accounts.flows.oidc.clients import GRANTS, SCOPES, oidc_client_create, redirect_uri_check
from oidc.models import Consent, OidcClient


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class OidcClientForm(forms.ModelForm):
    name = forms.CharField(max_length=150, help_text="Shown on the consent page.")
    redirect_uri_lines = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line; matched exactly.",
    )
    post_logout_lines = forms.CharField(
        label="Post-logout redirect URIs",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in SCOPES],
        initial=list(SCOPES),
        widget=forms.CheckboxSelectMultiple,
        label="Allowed scopes",
    )
    grants = forms.MultipleChoiceField(
        choices=[(g, g) for g in GRANTS],
        initial=["authorization_code", "refresh_token"],
        widget=forms.CheckboxSelectMultiple,
        label="Grants",
    )

    backchannel_logout_uri = forms.URLField(
        assume_scheme="https", required=False, help_text="Receives logout tokens (POST)."
    )
    logo_uri = forms.URLField(assume_scheme="https", required=False)

    class Meta:
        model = OidcClient
        fields = ("public", "first_party", "require_par", "backchannel_logout_uri", "logo_uri")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            client = self.instance.client
            self.fields["name"].initial = client.name
            self.fields["redirect_uri_lines"].initial = "\n".join(self.instance.redirect_uris)
            self.fields["post_logout_lines"].initial = "\n".join(
                self.instance.post_logout_redirect_uris
            )
            self.fields["scopes"].initial = client.allowed_scopes
            self.fields["grants"].initial = self.instance.grant_types
            self.fields["public"].disabled = True  # a secret cannot appear or vanish later

    def _uris(self, name: str) -> list[str]:
        uris = _lines(self.cleaned_data[name])
        try:
            return [redirect_uri_check(uri) for uri in uris]
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc

    def clean_redirect_uri_lines(self) -> list[str]:
        return self._uris("redirect_uri_lines")

    def clean_post_logout_lines(self) -> list[str]:
        return self._uris("post_logout_lines")


@admin.register(OidcClient)
class OidcClientAdmin(admin.ModelAdmin):
    form = OidcClientForm
    list_display = ("__str__", "public", "first_party", "require_par", "redirect_list")
    list_filter = ("public", "first_party", "require_par")
    search_fields = ("client__name", "client__client_id")
    list_select_related = ("client",)

    @admin.display(description="redirect URIs")
    def redirect_list(self, obj: OidcClient) -> str:
        return " ".join(obj.redirect_uris)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        if change:
            obj.redirect_uris = data["redirect_uri_lines"]
            obj.post_logout_redirect_uris = data["post_logout_lines"]
            obj.grant_types = data["grants"]
            obj.save()
            client = obj.client
            client.name, client.allowed_scopes = data["name"], sorted(data["scopes"])
            client.save(update_fields=["name", "allowed_scopes"])
            return
        client, secret = oidc_client_create(
            name=data["name"],
            redirect_uris=data["redirect_uri_lines"],
            public=data["public"],
            first_party=data["first_party"],
            post_logout_redirect_uris=data["post_logout_lines"],
            backchannel_logout_uri=data["backchannel_logout_uri"],
            scopes=data["scopes"],
            grant_types=data["grants"],
            logo_uri=data["logo_uri"],
            require_par=data["require_par"],
        )
        obj.pk, obj.client, obj._new_secret = client.pk, client, secret

    def response_add(self, request, obj, post_url_continue=None):
        if obj._new_secret is None:
            self.message_user(
                request, f"Public client {obj.client.client_id} registered.", messages.SUCCESS
            )
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "Client secret: shown once",
            "client": obj.client,
            "secret": obj._new_secret,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/serviceclient/secret.html", context)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "client", "scopes", "granted_at")
    search_fields = ("user__email", "client__name")
    list_select_related = ("user", "client")

    def has_add_permission(self, request) -> bool:
        return False
