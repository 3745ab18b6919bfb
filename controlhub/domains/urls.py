from django.urls import path

from controlhub.domains import views

urlpatterns = [
    path("", views.DomainListView.as_view(), name="domains"),
    path("<int:pk>/verify/", views.DomainVerifyView.as_view(), name="domain_verify"),
    path("<int:pk>/remove/", views.DomainRemoveView.as_view(), name="domain_remove"),
]
