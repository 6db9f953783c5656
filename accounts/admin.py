"""Admin for users, roles, sessions, service clients, signing keys and the audit trail."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.template.response import TemplateResponse

from accounts.flows import audiences, clients, mfa, sessions
from accounts.flows.client_keys import client_keys_check
from accounts.models import (
    AuditEvent,
    AuthSession,
    ResourceServer,
    Role,
    RolePolicy,
    ServiceClient,
    SigningKey,
    User,
)

admin.site.site_header = "Warden administration"
FACTOR_LABELS = {
    "totp": "authenticator app",
    "webauthn": "security key",
    "recovery_codes": "recovery codes",
}
admin.site.site_title = "Warden admin"


class WardenUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class WardenUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class WardenUserAdmin(UserAdmin):
    form = WardenUserChangeForm
    add_form = WardenUserCreationForm
    ordering = ("email",)
    search_fields = ("email", "first_name", "last_name", "public_id")
    list_display = (
        "email",
        "roles",
        "providers",
        "second_factors",
        "is_active",
        "is_staff",
        "date_joined",
    )
    list_filter = (("groups", admin.RelatedOnlyFieldListFilter), "is_active", "is_staff")
    readonly_fields = ("public_id", "last_login", "date_joined", "providers", "second_factors")
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        ("Profile", {"fields": ("first_name", "last_name")}),
        ("Roles and access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Connected accounts", {"fields": ("providers",)}),
        ("Second factors", {"fields": ("second_factors",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    filter_horizontal = ("groups",)
    actions = ["revoke_all_sessions", "reset_second_factors"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("groups", "socialaccount_set", "authenticator_set")
        )

    def save_related(self, request, form, formsets, change) -> None:
        form.instance._audit_actor = request.user  # role changes below are audited with it
        super().save_related(request, form, formsets, change)

    @admin.display(description="roles")
    def roles(self, obj: User) -> str:
        return ", ".join(sorted(g.name for g in obj.groups.all()))

    @admin.display(description="connected providers")
    def providers(self, obj: User) -> str:
        return ", ".join(sorted({a.provider for a in obj.socialaccount_set.all()})) or "-"

    @admin.action(description="Revoke all sessions of the selected users")
    def revoke_all_sessions(self, request, queryset) -> None:
        count = sum(
            sessions.user_sessions_revoke_all(user=u, reason="admin", actor=request.user)
            for u in queryset
        )
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)

    @admin.display(description="second factors")
    def second_factors(self, obj: User) -> str:
        present = {a.type for a in obj.authenticator_set.all()}
        return ", ".join(FACTOR_LABELS[k] for k in mfa.DISPLAY_ORDER if k in present) or "-"

    @admin.action(description="Reset second factors of the selected users (audited)")
    def reset_second_factors(self, request, queryset) -> None:
        reset = [u for u in queryset if mfa.user_factors_reset(user=u, actor=request.user)]
        self.message_user(
            request, f"Removed the second factors of {len(reset)} user(s).", messages.SUCCESS
        )


admin.site.unregister(Group)


class RolePolicyInline(admin.StackedInline):
    model = RolePolicy
    can_delete = False
    verbose_name_plural = "policy"


@admin.register(Role)
class RoleAdmin(GroupAdmin):
    list_display = ("name", "member_count", "requires_mfa")
    inlines = (RolePolicyInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("policy")

    @admin.display(description="requires MFA", boolean=True)
    def requires_mfa(self, obj: Role) -> bool:
        policy = getattr(obj, "policy", None)
        return bool(policy and policy.require_mfa)

    @admin.display(description="members")
    def member_count(self, obj: Role) -> int:
        return obj.user_set.count()


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "state",
        "method",
        "audience",
        "client",
        "created_at",
        "last_used_at",
        "ip",
    )
    list_filter = ("state", "method", ("user", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__email", "id", "ip")
    list_select_related = ("user", "client")
    exclude = ("refresh_digest", "previous_refresh_digest")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected sessions")
    def revoke(self, request, queryset) -> None:
        count = sum(
            sessions.session_revoke(session=s, reason="admin", actor=request.user)
            for s in queryset.select_related("user")
        )
        self.message_user(request, f"Revoked {count} session(s).", messages.SUCCESS)


def _words(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(required=False, help_text=help_text, label=label)


class ResourceServerForm(forms.ModelForm):
    scope_words = _words("Scopes", "The scopes it defines, separated by spaces.")
    claim_words = _words("Claim profile", "Extra claims its tokens carry: userId role.")

    class Meta:
        model = ResourceServer
        fields = ("identifier", "access_token_lifetime", "algorithm")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope_words"].initial = " ".join(self.instance.scopes)
        self.fields["claim_words"].initial = " ".join(self.instance.claims)

    def clean_claim_words(self) -> list[str]:
        claims = self.cleaned_data["claim_words"].replace(",", " ").split()
        unknown = set(claims) - set(audiences.PROFILE_CLAIMS)
        if unknown:
            raise forms.ValidationError(f"Unknown claims: {', '.join(sorted(unknown))}.")
        return list(dict.fromkeys(claims))

    def save(self, commit=True):
        self.instance.scopes = sorted(set(self.cleaned_data["scope_words"].split()))
        self.instance.claims = self.cleaned_data["claim_words"]
        return super().save(commit)


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    form = ResourceServerForm
    list_display = ("identifier", "scope_list", "access_token_lifetime", "claim_list", "algorithm")
    search_fields = ("identifier",)

    @admin.display(description="scopes")
    def scope_list(self, obj: ResourceServer) -> str:
        return " ".join(obj.scopes)

    @admin.display(description="claims")
    def claim_list(self, obj: ResourceServer) -> str:
        return ", ".join(obj.claims) or "-"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        audiences.resource_server_saved(server=obj)


class ServiceClientForm(forms.ModelForm):
    scopes = _words("Allowed scopes", "Allowed scopes, separated by spaces.")
    audiences = _words("Audiences", "Resource servers it may ask tokens for, space-separated.")
    exchange = _words(
        "Token exchange targets",
        "Resource servers it may exchange its users' tokens for (RFC 8693), space-separated.",
    )
    jwks_url = forms.URLField(
        required=False, assume_scheme="https", max_length=500, label="JWKS URL"
    )

    class Meta:
        model = ServiceClient
        fields = ("name", "is_active", "access_token_lifetime", "public_key_pem", "jwks_url")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["scopes"].initial = " ".join(self.instance.allowed_scopes)
            self.fields["audiences"].initial = " ".join(self.instance.allowed_audiences)
            self.fields["exchange"].initial = " ".join(self.instance.exchange_audiences)

    def clean_scopes(self) -> list[str]:
        return sorted(set(self.cleaned_data["scopes"].split()))

    def _servers(self, name: str) -> list[str]:
        wanted = set(self.cleaned_data[name].split())
        known = set(
            ResourceServer.objects.filter(identifier__in=wanted).values_list(
                "identifier", flat=True
            )
        )
        if wanted - known:
            raise forms.ValidationError(f"No resource server {', '.join(sorted(wanted - known))}.")
        return sorted(wanted)

    def clean_audiences(self) -> list[str]:
        return self._servers("audiences")

    def clean_exchange(self) -> list[str]:
        return self._servers("exchange")

    def clean(self):
        cleaned = super().clean()
        try:
            client_keys_check(
                public_key_pem=cleaned.get("public_key_pem", ""),
                jwks_url=cleaned.get("jwks_url", ""),
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return cleaned


@admin.register(ServiceClient)
class ServiceClientAdmin(admin.ModelAdmin):
    form = ServiceClientForm
    list_display = (
        "name",
        "client_id",
        "scope_list",
        "audience_list",
        "access_token_lifetime",
        "is_active",
        "secret_rotated_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "client_id")
    readonly_fields = ("client_id", "created_at", "secret_rotated_at")
    actions = ["rotate_secret", "deactivate"]

    @admin.display(description="scopes")
    def scope_list(self, obj: ServiceClient) -> str:
        return " ".join(obj.allowed_scopes)

    @admin.display(description="audiences (exchange targets)")
    def audience_list(self, obj: ServiceClient) -> str:
        exchange = f" ({' '.join(obj.exchange_audiences)})" if obj.exchange_audiences else ""
        return (" ".join(obj.allowed_audiences) or "-") + exchange

    def save_model(self, request, obj, form, change) -> None:
        scopes, data = form.cleaned_data["scopes"], form.cleaned_data
        if change:
            obj.allowed_scopes = scopes
            obj.allowed_audiences, obj.exchange_audiences = data["audiences"], data["exchange"]
            obj.save()
            if "is_active" in form.changed_data:  # a re-save changes nothing: no new event
                clients.service_client_set_active(client=obj, active=obj.is_active)
            return
        client, secret = clients.service_client_create(
            name=obj.name,
            scopes=scopes,
            audiences=data["audiences"],
            exchange=data["exchange"],
            lifetime=obj.access_token_lifetime,
            public_key_pem=obj.public_key_pem,
            jwks_url=obj.jwks_url,
        )
        if not obj.is_active:  # created active; nobody holds the secret before this turns it off
            clients.service_client_set_active(client=client, active=False)
        obj.pk, obj.client_id, obj._new_secret = client.pk, client.client_id, secret

    def response_add(self, request, obj, post_url_continue=None):
        return self._show_secret(request, obj, obj._new_secret)

    def _show_secret(self, request, client: ServiceClient, secret: str):
        context = {
            **self.admin_site.each_context(request),
            "title": "Client secret: shown once",
            "client": client,
            "secret": secret,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/serviceclient/secret.html", context)

    @admin.action(description="Rotate the secret (one client at a time)")
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one client.", messages.ERROR)
            return None
        client = queryset.get()
        secret = clients.service_client_rotate_secret(client=client, actor=request.user)
        return self._show_secret(request, client, secret)

    @admin.action(description="Deactivate selected clients")
    def deactivate(self, request, queryset) -> None:
        for client in queryset:
            clients.service_client_set_active(client=client, active=False)
        self.message_user(request, "Deactivated.", messages.SUCCESS)


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "algorithm", "state", "created_at", "retire_at")
    list_filter = ("state", "algorithm")
    fields = ("kid", "algorithm", "state", "created_at", "retire_at", "public_jwk")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "type", "outcome", "actor_user", "actor_client", "target", "ip")
    list_filter = ("type", "outcome", "created_at")
    search_fields = ("target", "actor_user__email", "ip", "type")
    list_select_related = ("actor_user", "actor_client")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
