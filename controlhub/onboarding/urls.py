from django.urls import path

from controlhub.onboarding import views

urlpatterns = [
    path("", views.OnboardingView.as_view(), name="onboarding"),
    path("settings/", views.OnboardingSettingsView.as_view(), name="onboarding_settings"),
    path("key/", views.OwnKeyUploadView.as_view(), name="onboarding_key_upload"),
    path("key/remove/", views.OwnKeyRemoveView.as_view(), name="onboarding_key_remove"),
    path("test/", views.ConnectionTestStartView.as_view(), name="onboarding_test_start"),
    path("test/<int:pk>/", views.ConnectionTestPanelView.as_view(), name="onboarding_test_panel"),
]
