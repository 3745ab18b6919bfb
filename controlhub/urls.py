from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from controlhub.views import core
from controlhub.views import live as live_views

urlpatterns = [
    path("", core.HomeView.as_view(), name="home"),
    path("healthz", core.healthz, name="healthz"),
    path("live/events", live_views.events, name="live_events"),
    path("accounts/login/", core.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", core.DashboardView.as_view(), name="dashboard"),
    path("onboarding/", include("controlhub.onboarding.urls")),
    path("domains/", include("controlhub.domains.urls")),
    path("", include("controlhub.people.urls")),
    path("", include("calendar_sync.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
