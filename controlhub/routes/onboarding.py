from django.urls import path

from controlhub.views import onboarding as views

urlpatterns = [
    path("", views.index, name="onboarding"),
]
