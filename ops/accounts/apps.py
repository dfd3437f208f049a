from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ops.accounts"
    label = "accounts"
    verbose_name = "Cuentas"
