from django.urls import path

from controlhub.people.views import me, people, signin_link

urlpatterns = [
    path("people/", people.PeopleListView.as_view(), name="people"),
    path("people/add/", people.PersonAddView.as_view(), name="people_add"),
    path("people/bulk/", people.PeopleBulkView.as_view(), name="people_bulk"),
    path("people/import/csv/", people.CsvUploadView.as_view(), name="people_csv"),
    path("people/import/directory/", people.DirectoryImportView.as_view(), name="people_directory"),
    path("people/export.csv", people.PeopleExportView.as_view(), name="people_export"),
    path("people/jobs/<int:pk>/", people.BulkJobView.as_view(), name="people_job"),
    path("people/jobs/<int:pk>/confirm/", people.BulkJobConfirmView.as_view(), name="people_job_confirm"),
    path("people/<int:pk>/", people.PersonDetailView.as_view(), name="person"),
    path("people/<int:pk>/<slug:action>/", people.PersonActionView.as_view(), name="person_action"),
    path("me/", me.MeView.as_view(), name="me"),
    path("accounts/link/", signin_link.SignInLinkRequestView.as_view(), name="signin_link"),
    path(
        "accounts/link/<str:kind>/<str:uidb64>/<str:token>/",
        signin_link.SignInLinkConfirmView.as_view(),
        name="signin_link_confirm",
    ),
]
