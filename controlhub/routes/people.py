from django.urls import path

from controlhub.views import people as views

urlpatterns = [
    path("people/", views.index, name="people"),
]
