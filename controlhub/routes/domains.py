from django.urls import path

from controlhub.views import domains as views

urlpatterns = [
    path("", views.index, name="domains"),
]
