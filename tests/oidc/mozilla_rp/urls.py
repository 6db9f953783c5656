"""mozilla-django-oidc's views under /oidc/, and a page that names the signed-in user."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path
from django.utils.html import escape


@login_required
def home(request):
    return HttpResponse(f"<p>Signed in as <b id='email'>{escape(request.user.email)}</b></p>")


urlpatterns = [
    path("", home, name="home"),
    path("oidc/", include("mozilla_django_oidc.urls")),
]
