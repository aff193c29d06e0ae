"""The guest's own page: a short path, because it travels in an SMS."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.guest_page, name="guest-page"),
    path("<str:token>/confirm/", views.guest_confirm, name="guest-confirm"),
    path("<str:token>/cancel/", views.guest_cancel, name="guest-cancel"),
    path("<str:token>/change/", views.guest_change, name="guest-change"),
]
