from django.urls import path

from ops.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("registro/", views.register, name="register"),
    path("ingresar/", views.LoginView.as_view(), name="login"),
    path("salir/", views.LogoutView.as_view(), name="logout"),
    path("perfil/", views.profile, name="profile"),
    path("perfil/eliminar/", views.account_delete_view, name="account_delete"),
    path("estado.json", views.status_json, name="status_json"),
    path("actualizar/", views.refresh, name="refresh"),
]
