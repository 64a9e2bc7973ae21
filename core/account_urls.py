from django.contrib.auth import views as auth_views
from django.urls import path

from core import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    # The one-time link an administrator's reset hands over (R-AUTH-5).
    path("reset/<uidb64>/<token>/", views.ResetLinkView.as_view(), name="password_reset_confirm"),
    path("resets/", views.password_resets, name="password_resets"),
]
